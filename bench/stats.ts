/**
 * Small statistics for the benchmark: medians, means, and the pairwise (round by round) differences and ratios
 * that keep a noisy shared machine's drift out of the comparisons.
 * @module
 */

/**
 * The median of `xs` (NaN when empty).
 *
 * @param xs samples
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The arithmetic mean of `xs` (NaN when empty). Used for CPU time: the kernel's per-process user/system times
 * are sampled at the scheduler tick, so one short process reads 0 or one tick and only the mean is meaningful.
 *
 * @param xs samples
 */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/**
 * The `p`-quantile (0..1) of `xs` by linear interpolation (NaN when empty).
 *
 * @param xs samples
 * @param p quantile, e.g. 0.9
 */
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Round-by-round comparison of two series measured alternately: the median over rounds of `a[r] - b[r]`. Rounds
 * missing on either side are skipped.
 *
 * @param a per-round values of the case
 * @param b per-round values of its reference, same rounds
 */
export function pairedDiff(a: readonly number[], b: readonly number[]): number {
  const d: number[] = [];
  for (let r = 0; r < Math.min(a.length, b.length); r++) {
    if (Number.isFinite(a[r]) && Number.isFinite(b[r])) d.push(a[r] - b[r]);
  }
  return median(d);
}

/**
 * The interquartile range `[q1, q3]` of the round-by-round differences `a[r] - b[r]` (how noisy
 * {@linkcode pairedDiff} is).
 *
 * @param a per-round values of the case
 * @param b per-round values of its reference, same rounds
 */
export function pairedDiffSpread(a: readonly number[], b: readonly number[]): [number, number] {
  const d: number[] = [];
  for (let r = 0; r < Math.min(a.length, b.length); r++) {
    if (Number.isFinite(a[r]) && Number.isFinite(b[r])) d.push(a[r] - b[r]);
  }
  return [quantile(d, 0.25), quantile(d, 0.75)];
}

/**
 * The interquartile range `[q1, q3]` of the round-by-round ratios `a[r] / b[r]` (how noisy
 * {@linkcode pairedRatio} is).
 *
 * @param a per-round costs of the case
 * @param b per-round costs of its reference, same rounds
 */
export function pairedRatioSpread(a: readonly number[], b: readonly number[]): [number, number] {
  const q: number[] = [];
  for (let r = 0; r < Math.min(a.length, b.length); r++) {
    if (Number.isFinite(a[r]) && Number.isFinite(b[r]) && b[r] > 0) q.push(a[r] / b[r]);
  }
  return [quantile(q, 0.25), quantile(q, 0.75)];
}

/**
 * The sum of `xs` (0 when empty).
 *
 * @param xs samples
 */
export function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/**
 * Round-by-round ratio of two costs: the median over rounds of `a[r] / b[r]` (rounds where `b[r] <= 0` are
 * skipped).
 *
 * @param a per-round costs of the case
 * @param b per-round costs of its reference, same rounds
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  const q: number[] = [];
  for (let r = 0; r < Math.min(a.length, b.length); r++) {
    if (Number.isFinite(a[r]) && Number.isFinite(b[r]) && b[r] > 0) q.push(a[r] / b[r]);
  }
  return median(q);
}

/**
 * Formats milliseconds for the tables: one decimal, "n/a" for NaN.
 *
 * @param ms value in milliseconds
 */
export function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : "n/a";
}

/**
 * Formats a ratio as `1.23×` ("n/a" for NaN).
 *
 * @param r the ratio
 */
export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "n/a";
}
