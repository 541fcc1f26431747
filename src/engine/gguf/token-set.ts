import type { FileHandle } from "node:fs/promises";

/**
 * The tokens seen so far, to find a repeated one among a 262k-token vocabulary in a few tens of ms:
 * an open-addressing table of two 32-bit hashes of each token's bytes, and on a match the earlier
 * token's bytes read back from the file and compared. Empty tokens are distinct (llama.cpp renames
 * them "[EMPTY_<id>]").
 */
export class TokenSet {
  private slots = new Int32Array(1 << 12); // token index + 1; 0 is free
  private h1 = new Int32Array(1 << 11);
  private h2 = new Int32Array(1 << 11);
  private readonly positions: number[] = [];
  private readonly lengths: number[] = [];
  private count = 0;

  constructor(private readonly handle: FileHandle) {}

  /** Adds token `index` (its `length` bytes at file position `pos`, at `at` in `buf`); returns the earlier tokens of the same hashes and length, if any. */
  add(index: number, pos: number, buf: Buffer, at: number, length: number): number[] | undefined {
    this.positions[index] = pos;
    this.lengths[index] = length;
    if (length === 0) return undefined;
    let a = 0x811c9dc5 | 0;
    let b = length | 0;
    for (let i = at; i < at + length; i++) {
      const c = buf[i]!;
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 13);
    }
    if (index >= this.h1.length) {
      const grow = (old: Int32Array) => {
        const next = new Int32Array(Math.max(old.length * 2, index + 1));
        next.set(old);
        return next;
      };
      this.h1 = grow(this.h1);
      this.h2 = grow(this.h2);
    }
    this.h1[index] = a;
    this.h2[index] = b;
    if (++this.count * 2 > this.slots.length) this.rehash();
    let same: number[] | undefined;
    const mask = this.slots.length - 1;
    let slot = a & mask;
    for (let s = this.slots[slot]!; s !== 0; slot = (slot + 1) & mask, s = this.slots[slot]!) {
      const earlier = s - 1;
      if (this.h1[earlier] === a && this.h2[earlier] === b && this.lengths[earlier] === length) (same ??= []).push(earlier);
    }
    this.slots[slot] = index + 1;
    return same;
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (const s of old) {
      if (s === 0) continue;
      let slot = this.h1[s - 1]! & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = s;
    }
  }

  /** Which of the candidates really has these bytes (read back from the file). */
  async confirm(candidates: number[], bytes: Buffer): Promise<number | undefined> {
    for (const earlier of candidates) {
      const other = Buffer.alloc(bytes.length);
      await this.handle.read(other, 0, bytes.length, this.positions[earlier]!);
      if (other.equals(bytes)) return earlier;
    }
    return undefined;
  }
}
