/**
 * The one way chainsaw renders an unknown thrown value in a message: an Error's message (its name too when it is
 * not a plain Error), anything else as a string. Never a stack trace.
 *
 * @example
 * ```ts
 * import { errorText } from "./error_text.ts";
 * errorText(new TypeError("bad")); // "TypeError: bad"
 * errorText(new Error("bad")); // "bad"
 * ```
 * @module
 */

/**
 * Renders `e` for a message.
 *
 * @param e anything thrown
 * @returns its text
 */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    return e.name === "Error" || e.message.startsWith(`${e.name}:`) ? e.message : `${e.name}: ${e.message}`;
  }
  return String(e);
}
