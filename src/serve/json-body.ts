/**
 * Parsing a request's JSON text safely: nesting is limited before
 * `JSON.parse` runs, so a body of a million `[` cannot exhaust the stack or
 * build a deep object graph, and a syntax error becomes a 400 that quotes
 * the parser's complaint.
 */
import { badRequest } from './http-error.js';

/** Deepest nesting of arrays and objects a request may use (a rank-60 tensor in nested form fits). */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The deepest nesting of `[` and `{` in JSON text, ignoring brackets inside
 * strings. Stops early, returning a value above `limit`, once `limit` is
 * passed. Does not validate the rest of the syntax (JSON.parse does).
 */
export function jsonNestingDepth(bytes: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth--;
  }
  return deepest;
}

/**
 * Parses a request's JSON object.
 * @param what names the text in messages, e.g. 'the request body' or 'the inference header'.
 * @throws HttpError 400 when the text nests deeper than {@link MAX_JSON_DEPTH}, is not
 *   JSON, or is not a JSON object.
 */
export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length === 0) throw badRequest(`${what} is empty; expected a JSON object`);
  const depth = jsonNestingDepth(bytes);
  if (depth > MAX_JSON_DEPTH) {
    throw badRequest(`${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; send tensor data flat (row-major) instead`);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw badRequest(`${what} is not valid JSON: ${(error as Error).message}`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`${what} must be a JSON object, not ${describeJsonValue(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A short description of a JSON value's type for messages: 'an array', 'the string "x"', 'null'. */
export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number': return `the number ${value}`;
    case 'boolean': return `the boolean ${value}`;
    case 'object': return 'an object';
    default: return typeof value;
  }
}
