/**
 * The one way chainsaw renders an unknown thrown value in a message: an Error's message, prefixed with its name
 * when it is one of JavaScript's own error types (a `TypeError` is a bug worth naming; chainsaw's and Deno's
 * errors carry messages written to be read alone), anything else as a string. Never a stack trace. A
 * `SyntaxError` is not named: at run time it comes from parsing data (`JSON.parse`), and its message says so.
 *
 * Code that wraps an error in its own keeps the original as its `cause` (std's convention) and puts
 * `errorText(e)` in its message: the message reads alone, the chain survives for whoever debugs.
 *
 * @example
 * ```ts
 * import { errorText } from "./error_text.ts";
 * errorText(new TypeError("bad")); // "TypeError: bad"
 * errorText(new Error("bad")); // "bad"
 * errorText(new SyntaxError("Unexpected end of JSON input")); // "Unexpected end of JSON input"
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
    return JS_ERRORS.has(e.name) && !e.message.startsWith(`${e.name}:`)
      ? `${e.name}: ${e.message}`
      : e.message;
  }
  return String(e);
}

const JS_ERRORS = new Set([
  "TypeError",
  "RangeError",
  "ReferenceError",
  "EvalError",
  "URIError",
]);
