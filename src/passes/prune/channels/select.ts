/**
 * Choosing which channels to remove. Components (see channel-set.ts) that
 * share the same producers form a *family* (one Conv's channels; or, across a
 * residual Add, the channels of every tied Conv). Each family loses the
 * requested fraction of its producers' channels, least important components
 * first, and always keeps one component. A component's importance is the
 * mean, over the producer channels in it, of the channel's weight norm
 * divided by its producer's mean channel norm, so producers of different
 * scale weigh alike. Most components hold one channel per producer; some
 * (grouped convolutions, channel shuffles) hold several, which is why the
 * target counts channels rather than components.
 */
import { dimsOf, floatValues } from '../weights.js';
import type { ChannelNorm } from '../types.js';
import type { ChannelAnalysis, ProducerRecord } from './context.js';

/** Components removed together because they share their producers. */
export interface Family {
  /** Indices into `ChannelAnalysis.producers`, ascending. */
  readonly producers: readonly number[];
  /** Root ids of its components. */
  readonly roots: readonly number[];
  readonly removedRoots: readonly number[];
}

export interface Selection {
  readonly families: readonly Family[];
  /** Whether a channel node is removed. */
  isRemoved(id: number): boolean;
  /** Why a blocked component stays, by root. */
  readonly blocked: ReadonlyMap<number, string>;
}

/** L1 or L2 norm of each slice of the producer's weight along its output axis. */
export function channelNorms(producer: ProducerRecord, norm: ChannelNorm): Float64Array {
  const dims = dimsOf(producer.weight.tensor);
  const values = floatValues(producer.weight.tensor);
  const axis = producer.outAxis;
  const size = dims[axis] ?? 0;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const sums = new Float64Array(size);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < size; c++) {
      const start = (o * size + c) * inner;
      let sum = 0;
      for (let i = start; i < start + inner; i++) {
        const v = values[i]!;
        sum += norm === 'l1' ? Math.abs(v) : v * v;
      }
      sums[c]! += sum;
    }
  }
  if (norm === 'l2') for (let c = 0; c < size; c++) sums[c] = Math.sqrt(sums[c]!);
  return sums;
}

/**
 * How many of a family's channels to remove: round(sparsity × channels), or,
 * with `roundTo` > 1, as many as leave each producer a multiple of `roundTo`
 * channels nearest to (1 − sparsity) of them (at least `roundTo`; producers
 * with fewer channels than that lose none).
 */
export function removalBudget(channels: number, producers: number, sparsity: number, roundTo: number): number {
  if (roundTo <= 1) return Math.round(sparsity * channels);
  const perProducer = channels / producers;
  if (perProducer <= roundTo) return 0;
  const kept = Math.max(roundTo, Math.round((perProducer * (1 - sparsity)) / roundTo) * roundTo);
  return Math.max(0, Math.round((perProducer - kept) * producers));
}

/**
 * Picks the components to remove: of each family, the least important ones
 * while their channels fit in round(sparsity × the family's channels),
 * keeping at least one component. Blocked components never go.
 */
export function selectChannels(ctx: ChannelAnalysis, sparsity: number, norm: ChannelNorm, roundTo = 1): Selection {
  const set = ctx.set;
  const blocked = set.blockedRoots();
  const importance = new Map<number, number>();
  const size = new Map<number, number>();
  const producersOf = new Map<number, Set<number>>();
  ctx.producers.forEach((producer, producerIndex) => {
    const norms = channelNorms(producer, norm);
    const mean = norms.reduce((a, b) => a + b, 0) / Math.max(1, norms.length);
    producer.ids.forEach((id, channel) => {
      const root = set.find(id);
      if (blocked.has(root)) return;
      importance.set(root, (importance.get(root) ?? 0) + (mean > 0 ? norms[channel]! / mean : 0));
      size.set(root, (size.get(root) ?? 0) + 1);
      let producers = producersOf.get(root);
      if (producers === undefined) producersOf.set(root, (producers = new Set()));
      producers.add(producerIndex);
    });
  });

  const byKey = new Map<string, { producers: number[]; roots: number[] }>();
  for (const [root, producerSet] of producersOf) {
    const producers = [...producerSet].sort((a, b) => a - b);
    const key = producers.join(',');
    let family = byKey.get(key);
    if (family === undefined) byKey.set(key, (family = { producers, roots: [] }));
    family.roots.push(root);
  }
  const removed = new Set<number>();
  const families: Family[] = [];
  const meanImportance = (root: number): number => importance.get(root)! / size.get(root)!;
  for (const { producers, roots } of byKey.values()) {
    const ranked = [...roots].sort((a, b) => meanImportance(a) - meanImportance(b) || a - b);
    const channels = ranked.reduce((sum, root) => sum + size.get(root)!, 0);
    let budget = removalBudget(channels, producers.length, sparsity, roundTo);
    const removedRoots: number[] = [];
    for (const root of ranked) {
      if (removedRoots.length === ranked.length - 1 || budget <= 0) break;
      // Never remove more than asked: a component bigger than what is left is skipped.
      if (size.get(root)! > budget) continue;
      removedRoots.push(root);
      budget -= size.get(root)!;
    }
    for (const root of removedRoots) removed.add(root);
    families.push({ producers, roots: [...roots].sort((a, b) => a - b), removedRoots });
  }
  families.sort((a, b) => a.producers[0]! - b.producers[0]!);
  return { families, blocked, isRemoved: (id) => removed.has(set.find(id)) };
}
