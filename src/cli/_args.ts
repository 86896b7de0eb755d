/**
 * Argument parsers the subcommands share (commander's `parseArg`): each throws commander's InvalidArgumentError,
 * which commander reports with the option's name and exits 2.
 * @module
 */
import { InvalidArgumentError } from "commander";

/** `namespace/name`. */
export function podRef(value: string): string {
  if (!/^[^/\s]+\/[^/\s]+$/.test(value)) throw new InvalidArgumentError("must be namespace/name");
  return value;
}

/** A W3C trace id (32 hex digits), lower-cased. */
export function traceId(value: string): string {
  if (!/^[0-9a-fA-F]{32}$/.test(value)) throw new InvalidArgumentError("must be a trace id (32 hex digits)");
  return value.toLowerCase();
}

/** A whole number. */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("must be a whole number");
  return Number(value);
}
