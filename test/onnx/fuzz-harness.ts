/**
 * Seeded mutation fuzzing of the model decoder, shared by fuzz.test.ts and the
 * worker thread it runs the fuzz loop in (so that a hang can be cut off).
 *
 * Every variant is a pure function of (seed, fixture index, variant index), so
 * any failure can be reproduced alone with {@link makeVariant}.
 */
import { ModelFormatError } from '../../src/common/errors.js';
import { decodeModel, serializeModel } from '../../src/onnx/model-io.js';
import { mulberry32 } from '../../src/runtime/random-inputs.js';

export interface FuzzFixture {
  name: string;
  bytes: Uint8Array;
}

export interface FuzzOptions {
  seed: number;
  variantsPerFixture: number;
  /** Written before each variant: [fixture index, variant index], so a watchdog can say where a hang happened. */
  progress?: Int32Array;
}

export interface FuzzReport {
  variants: number;
  /** Variants that decoded as a model (and re-encoded without throwing). */
  loaded: number;
  /** Loaded variants whose re-encoding is byte-identical to the variant. */
  reencodedExact: number;
  /** Variants rejected with ModelFormatError. */
  rejected: number;
  /** Variants that broke the contract: another exception type, or a re-encode that threw. */
  failures: string[];
  /** Loaded variants, none of whose mutations padded a varint, that re-encoded to different bytes (at most 20 listed). */
  inexact: string[];
  /** Loaded variants with a padded length prefix (an equivalent non-minimal encoding), and how many re-encoded byte-identically. */
  padded: { loaded: number; exact: number; examples: string[] };
  /** Variants per mutation kind ('stacked' for several mutations in a row). */
  byKind: Record<string, number>;
  /** Loaded variants per mutation kind. */
  loadedByKind: Record<string, number>;
  slowestMs: number;
  slowest: string;
  elapsedMs: number;
}

type Random = () => number;

/** A length-delimited field's length prefix: where its varint starts, how many bytes it takes, its value. */
export interface LengthPrefix {
  at: number;
  width: number;
  value: number;
  /** Index of the enclosing field's prefix in the same list, or -1 at the top level. */
  parent: number;
}

function readVarint(bytes: Uint8Array, pos: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 10 && pos < end; i++) {
    const byte = bytes[pos++]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return { value, next: pos };
  }
  return undefined;
}

/** Appends the length prefixes of [start, end) parsed as a message; false (appending nothing) when it does not parse as one. */
function collectPrefixes(bytes: Uint8Array, start: number, end: number, depth: number, parent: number, out: LengthPrefix[]): boolean {
  const mark = out.length;
  let pos = start;
  let ok = true;
  while (ok && pos < end) {
    const tag = readVarint(bytes, pos, end);
    if (tag === undefined || tag.value < 8) {
      ok = false;
      break;
    }
    pos = tag.next;
    switch (tag.value % 8) {
      case 0: {
        const skipped = readVarint(bytes, pos, end);
        if (skipped === undefined) ok = false;
        else pos = skipped.next;
        break;
      }
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2: {
        const length = readVarint(bytes, pos, end);
        if (length === undefined || length.next + length.value > end) {
          ok = false;
          break;
        }
        out.push({ at: pos, width: length.next - pos, value: length.value, parent });
        if (depth < 64) collectPrefixes(bytes, length.next, length.next + length.value, depth + 1, out.length - 1, out);
        pos = length.next + length.value;
        break;
      }
      default:
        ok = false;
    }
  }
  if (!ok || pos !== end) {
    out.length = mark;
    return false;
  }
  return true;
}

/** The length prefixes of a well-formed message, nested ones included (a bytes field that happens to parse counts too). */
export function lengthPrefixes(bytes: Uint8Array): LengthPrefix[] {
  const out: LengthPrefix[] = [];
  collectPrefixes(bytes, 0, bytes.length, 0, -1, out);
  return out;
}

export function encodeVarint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

function splice(bytes: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

const interestingBytes = [0x00, 0x01, 0x07, 0x08, 0x0a, 0x12, 0x7f, 0x80, 0xff];

type Mutation = (bytes: Uint8Array, random: Random, prefixes: readonly LengthPrefix[]) => { bytes: Uint8Array; note: string };

const mutations: Record<string, Mutation> = {
  bitFlip(bytes, random) {
    const out = bytes.slice();
    const flips = 1 + int(random, 3);
    const at: number[] = [];
    for (let i = 0; i < flips; i++) {
      const pos = int(random, out.length);
      out[pos]! ^= 1 << int(random, 8);
      at.push(pos);
    }
    return { bytes: out, note: `flipped bits at ${at.join(',')}` };
  },
  replaceBytes(bytes, random) {
    const out = bytes.slice();
    const count = 1 + int(random, 4);
    const pos = int(random, out.length);
    for (let i = 0; i < count && pos + i < out.length; i++) {
      out[pos + i] = random() < 0.5 ? interestingBytes[int(random, interestingBytes.length)]! : int(random, 256);
    }
    return { bytes: out, note: `replaced ${count} bytes at ${pos}` };
  },
  insertBytes(bytes, random) {
    const pos = int(random, bytes.length + 1);
    const inserted = Array.from({ length: 1 + int(random, 8) }, () => int(random, 256));
    return { bytes: splice(bytes, pos, 0, inserted), note: `inserted ${inserted.length} bytes at ${pos}` };
  },
  deleteBytes(bytes, random) {
    const pos = int(random, bytes.length);
    const count = Math.min(1 + int(random, 16), bytes.length - pos);
    return { bytes: splice(bytes, pos, count, []), note: `deleted ${count} bytes at ${pos}` };
  },
  duplicateSlice(bytes, random) {
    const from = int(random, bytes.length);
    const slice = bytes.slice(from, from + 1 + int(random, 32));
    const to = int(random, bytes.length + 1);
    return { bytes: splice(bytes, to, 0, slice), note: `copied ${slice.length} bytes from ${from} to ${to}` };
  },
  bumpLengthPrefix(bytes, random, prefixes) {
    if (prefixes.length === 0) return mutations.bitFlip!(bytes, random, prefixes);
    const prefix = prefixes[int(random, prefixes.length)]!;
    const remaining = bytes.length - prefix.at - prefix.width;
    const choices = [
      prefix.value + 1, prefix.value + 1 + int(random, 64), Math.max(0, prefix.value - 1), 0,
      remaining + 1, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 35, int(random, prefix.value + 1),
    ];
    const value = choices[int(random, choices.length)]!;
    return {
      bytes: splice(bytes, prefix.at, prefix.width, encodeVarint(value)),
      note: `set the length prefix at ${prefix.at} from ${prefix.value} to ${value}`,
    };
  },
  // Same value in a longer (non-minimal) varint, enclosing lengths adjusted: a valid, equivalent encoding.
  padLengthPrefix(bytes, random, prefixes) {
    if (prefixes.length === 0) return mutations.bitFlip!(bytes, random, prefixes);
    const index = int(random, prefixes.length);
    const prefix = prefixes[index]!;
    const padded = encodeVarint(prefix.value);
    const pad = Math.min(1 + int(random, 3), 10 - padded.length);
    if (pad <= 0) return mutations.bitFlip!(bytes, random, prefixes);
    padded[padded.length - 1]! |= 0x80;
    for (let i = 1; i < pad; i++) padded.push(0x80);
    padded.push(0x00);
    let out = splice(bytes, prefix.at, prefix.width, padded);
    let growth = padded.length - prefix.width;
    // Enclosing prefixes sit before this one, so rewriting them innermost first keeps every offset valid.
    for (let ancestor = prefix.parent; ancestor >= 0; ancestor = prefixes[ancestor]!.parent) {
      const outer = prefixes[ancestor]!;
      const encoded = encodeVarint(outer.value + growth);
      out = splice(out, outer.at, outer.width, encoded);
      growth += encoded.length - outer.width;
    }
    return { bytes: out, note: `padded the length prefix ${prefix.value} at ${prefix.at} to ${padded.length} bytes` };
  },
  truncate(bytes, random) {
    const length = int(random, bytes.length);
    return { bytes: bytes.slice(0, length), note: `truncated to ${length} bytes` };
  },
};

export const mutationKinds = Object.keys(mutations);

/** Variant `index` of `fixture`: 1 to 3 stacked mutations, fully determined by the arguments. */
export function makeVariant(fixture: FuzzFixture, prefixes: readonly LengthPrefix[], seed: number, fixtureIndex: number, index: number): { bytes: Uint8Array; kind: string; note: string } {
  const random = mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(fixtureIndex + 1, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
  const steps = random() < 0.75 ? 1 : 2 + int(random, 2);
  let bytes = fixture.bytes;
  const kinds: string[] = [];
  const notes: string[] = [];
  for (let step = 0; step < steps && bytes.length > 0; step++) {
    const kind = mutationKinds[int(random, mutationKinds.length)]!;
    // Length prefixes are only known for the unmutated bytes.
    const result = mutations[kind]!(bytes, random, step === 0 ? prefixes : []);
    bytes = result.bytes;
    kinds.push(kind);
    notes.push(result.note);
  }
  return { bytes, kind: kinds.join('+'), note: `${fixture.name} variant ${index}: ${notes.join('; ')}` };
}

/** Decodes every variant of every fixture; never throws for a contract violation, it reports it. */
export function runFuzz(fixtures: readonly FuzzFixture[], options: FuzzOptions): FuzzReport {
  const started = performance.now();
  const report: FuzzReport = {
    variants: 0, loaded: 0, reencodedExact: 0, rejected: 0, failures: [], inexact: [], byKind: {}, loadedByKind: {}, padded: { loaded: 0, exact: 0, examples: [] },
    slowestMs: 0, slowest: '', elapsedMs: 0,
  };
  fixtures.forEach((fixture, fixtureIndex) => {
    const prefixes = lengthPrefixes(fixture.bytes);
    for (let index = 0; index < options.variantsPerFixture; index++) {
      if (options.progress !== undefined) {
        Atomics.store(options.progress, 0, fixtureIndex);
        Atomics.store(options.progress, 1, index);
      }
      const variant = makeVariant(fixture, prefixes, options.seed, fixtureIndex, index);
      const kind = variant.kind.split('+').length > 1 ? 'stacked' : variant.kind;
      report.byKind[kind] = (report.byKind[kind] ?? 0) + 1;
      report.variants++;
      const t0 = performance.now();
      try {
        const model = decodeModel(variant.bytes, 'fuzz');
        try {
          const reencoded = serializeModel(model);
          report.loaded++;
          report.loadedByKind[kind] = (report.loadedByKind[kind] ?? 0) + 1;
          const exact = Buffer.compare(reencoded, variant.bytes) === 0;
          if (exact) report.reencodedExact++;
          if (variant.kind.includes('padLengthPrefix')) {
            report.padded.loaded++;
            if (exact) report.padded.exact++;
            else if (report.padded.examples.length < 5) report.padded.examples.push(variant.note);
          } else if (!exact && report.inexact.length < 20) {
            report.inexact.push(variant.note);
          }
        } catch (error) {
          report.failures.push(`${variant.note}: decoded, but re-encoding threw ${describe(error)}`);
        }
      } catch (error) {
        if (error instanceof ModelFormatError) report.rejected++;
        else report.failures.push(`${variant.note}: threw ${describe(error)}`);
      }
      const ms = performance.now() - t0;
      if (ms > report.slowestMs) {
        report.slowestMs = ms;
        report.slowest = variant.note;
      }
    }
  });
  report.elapsedMs = performance.now() - started;
  return report;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}`;
  return `non-error ${String(error)}`;
}
