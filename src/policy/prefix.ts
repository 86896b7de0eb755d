/**
 * IP prefixes for rule constraints (`to=192.0.2.0/24`): parsing rule values strictly and command values
 * conservatively, and prefix containment.
 *
 * iproute2 parses IPv4 parts with `strtoul(..., 0)`, so `010.0.0.1` is 8.0.0.1 and `0x0a.1` is 10.1.0.0;
 * command values in such spellings (or any other chainsaw does not read exactly like iproute2) are reported
 * as unreadable, which the rule matcher treats as "no match" in allow rules and "match" in deny rules.
 * @module
 */

/** An address prefix: family, the address as 4 or 16 bytes, and the prefix length in bits. */
export interface Prefix {
  readonly family: "inet" | "inet6";
  readonly bytes: readonly number[];
  readonly length: number;
}

const DECIMAL_BYTE = /^(0|[1-9][0-9]{0,2})$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Parses 1 to 4 dotted decimal parts the way iproute2 reads them (`10` = 10.0.0.0, `10.8` = 10.8.0.0). */
function parseIpv4(text: string, partsRequired: boolean): number[] | undefined {
  const parts = text.split(".");
  if (parts.length > 4 || (partsRequired && parts.length !== 4)) return undefined;
  const bytes = [0, 0, 0, 0];
  for (let i = 0; i < parts.length; i++) {
    if (!DECIMAL_BYTE.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/** Parses an IPv6 address as inet_pton does (with `::` and an optional trailing dotted quad). */
function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIpv4(last, true);
    if (!v4) return undefined;
    const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
    head = `${text.slice(0, lastColon + 1)}${hex(v4[0], v4[1])}:${hex(v4[2], v4[3])}`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if (!left || !right) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - left.length - right.length;
    if (fill < 1) return undefined;
    words = [...left, ...new Array(fill).fill(0), ...right];
  } else {
    words = left;
  }
  if (words.length !== 8) return undefined;
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function build(
  family: "inet" | "inet6",
  bytes: number[] | undefined,
  lenText: string | undefined,
): Prefix | undefined {
  if (!bytes) return undefined;
  const max = family === "inet" ? 32 : 128;
  let length = max;
  if (lenText !== undefined) {
    if (!DECIMAL.test(lenText)) return undefined;
    length = Number(lenText);
    if (length > max) return undefined;
  }
  return { family, bytes, length };
}

/**
 * Parses a prefix written in a policy rule: a full dotted IPv4 address or an IPv6 address, optionally
 * with `/len`. Returns undefined when `text` is not one.
 */
export function parseRulePrefix(text: string): Prefix | undefined {
  const [addr, len, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  if (addr.includes(":")) return build("inet6", parseIpv6(addr), len);
  return build("inet", parseIpv4(addr, true), len);
}

/**
 * Reads a command's address value as iproute2 would (`default`/`all`/`any` are the zero-length prefix of the
 * selected family, or of both when none is selected). Returns every reading, or undefined when chainsaw
 * cannot read it exactly like iproute2 (octal or hex parts, netmask lengths, non-IP families).
 */
export function parseCommandPrefixes(text: string, family: string | undefined): Prefix[] | undefined {
  if (family !== undefined && family !== "inet" && family !== "inet6") return undefined;
  if (text === "default" || text === "all" || text === "any") {
    const zero = (f: "inet" | "inet6"): Prefix => ({
      family: f,
      bytes: new Array(f === "inet" ? 4 : 16).fill(0),
      length: 0,
    });
    return family === undefined ? [zero("inet"), zero("inet6")] : [zero(family)];
  }
  const [addr, len, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const p = addr.includes(":")
    ? build("inet6", parseIpv6(addr), len)
    : build("inet", parseIpv4(addr, false), len);
  if (!p || (family !== undefined && p.family !== family)) return undefined;
  return [p];
}

/** Whether `inner` lies within `outer` (same family, at least as long, same leading bits). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false;
  for (let bit = 0; bit < outer.length; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((outer.bytes[byte] & mask) !== (inner.bytes[byte] & mask)) return false;
  }
  return true;
}
