/**
 * The bookkeeping of structured pruning's dependency analysis.
 *
 * Every channel of every tensor the analysis follows is a *channel node*
 * (an integer id). Operators that create channels (Conv, Gemm, MatMul) make
 * fresh ids; operators that keep them (Relu, BatchNormalization, pooling)
 * pass the same ids on; Concat concatenates id lists; a residual Add unites
 * the ids of its two inputs position by position. After the walk, each
 * union-find component is one unit of removal: removing it removes that
 * channel everywhere it appears, which keeps every tensor's shape consistent.
 * A component that touches anything the analysis cannot rewrite (a graph
 * output, an unknown operator) is *blocked* and stays.
 */

/** How a tensor's channel axis is laid out in channel nodes. */
export interface ChannelLayout {
  readonly kind: 'channels';
  /** Channel node of each channel, in order (an id may repeat, e.g. after a depthwise multiplier). */
  readonly ids: Int32Array;
  /** The channel axis (non-negative) within `rank`. */
  readonly axis: number;
  readonly rank: number;
  /**
   * Consecutive positions per channel along the axis: 1 for an activation,
   * H×W after flattening [N, C, H, W] to [N, C·H·W].
   */
  readonly factor: number;
}

/**
 * The channel axis split in two by a Reshape, [.., C, ..] → [.., g, C/g, ..],
 * as in a channel shuffle; only a Transpose of the two axes and a Reshape
 * merging them back may follow.
 */
export interface SplitLayout {
  readonly kind: 'split';
  readonly ids: Int32Array;
  /** Axis of the outer part (size `groups`); the inner part follows it. */
  readonly axis: number;
  readonly rank: number;
  readonly groups: number;
  /** Whether the two axes have been swapped (inner part first). */
  readonly transposed: boolean;
}

export type ValueLayout = ChannelLayout | SplitLayout;

/** Union-find over channel nodes, with the reasons some must stay. */
export class ChannelSet {
  private parent: Int32Array = new Int32Array(1024);
  private size = 0;
  private readonly blockedIds: Array<{ id: number; reason: string }> = [];

  /** The number of channel nodes made so far. */
  get count(): number {
    return this.size;
  }

  /** `count` new channel nodes, each its own component. */
  fresh(count: number): Int32Array {
    if (this.size + count > this.parent.length) {
      const grown = new Int32Array(Math.max(this.parent.length * 2, this.size + count));
      grown.set(this.parent.subarray(0, this.size));
      this.parent = grown;
    }
    const ids = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      this.parent[this.size] = this.size;
      ids[i] = this.size;
      this.size += 1;
    }
    return ids;
  }

  find(id: number): number {
    let root = id;
    while (this.parent[root] !== root) root = this.parent[root]!;
    let node = id;
    while (this.parent[node] !== root) {
      const next = this.parent[node]!;
      this.parent[node] = root;
      node = next;
    }
    return root;
  }

  union(a: number, b: number): void {
    const rootA = this.find(a);
    const rootB = this.find(b);
    // The lower id stays root so results do not depend on union order.
    if (rootA < rootB) this.parent[rootB] = rootA;
    else if (rootB < rootA) this.parent[rootA] = rootB;
  }

  /** Unites two id lists position by position (they must be the same length). */
  unite(a: Int32Array, b: Int32Array): void {
    for (let i = 0; i < a.length; i++) this.union(a[i]!, b[i]!);
  }

  /** Marks channels that must stay, with why (the first reason given wins). */
  block(ids: ArrayLike<number>, reason: string): void {
    for (let i = 0; i < ids.length; i++) this.blockedIds.push({ id: ids[i]!, reason });
  }

  /** Why each blocked component must stay, by root; computed after all unions. */
  blockedRoots(): Map<number, string> {
    const roots = new Map<number, string>();
    for (const { id, reason } of this.blockedIds) {
      const root = this.find(id);
      if (!roots.has(root)) roots.set(root, reason);
    }
    return roots;
  }
}
