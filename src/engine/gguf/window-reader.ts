import type { FileHandle } from "node:fs/promises";
import { SCALAR_SIZE } from "./value-types.js";

const CHUNK_BYTES = 1 << 20;

/** Forward-only reads of a file through a window of at most about a MiB (more only for one long key or name). */
export class WindowReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  get left(): number {
    return this.size - this.pos;
  }

  /** The window and the file position of its first byte. */
  get window(): Buffer {
    return this.buf;
  }

  get windowStart(): number {
    return this.bufStart;
  }

  /** True when the next n bytes are in the window. */
  has(n: number): boolean {
    return this.pos - this.bufStart + n <= this.buf.length;
  }

  /** Brings the next n bytes (n <= left) into the window. */
  async need(n: number): Promise<void> {
    if (this.has(n)) return;
    const len = Math.min(Math.max(n, CHUNK_BYTES), this.size - this.pos);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.handle.read(buf, got, len - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < n) throw new Error(`the file ended at byte ${this.pos + got} while it was read (it changed size?)`);
    this.buf = buf.subarray(0, got);
    this.bufStart = this.pos;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.pos - this.bufStart);
    this.pos += 4;
    return v;
  }

  /** A u64 as a number: exact up to 2^53, which is past any file size the counts are compared with. */
  u64(): number {
    const at = this.pos - this.bufStart;
    const v = this.buf.readUInt32LE(at + 4) * 2 ** 32 + this.buf.readUInt32LE(at);
    this.pos += 8;
    return v;
  }

  /** The u64 just read, exactly (for messages). */
  lastU64(): bigint {
    return this.buf.readBigUInt64LE(this.pos - this.bufStart - 8);
  }

  u64Big(): bigint {
    const v = this.buf.readBigUInt64LE(this.pos - this.bufStart);
    this.pos += 8;
    return v;
  }

  /** The next n bytes as UTF-8 text (`bytes` keeps one character per byte). */
  text(n: number, encoding: "utf8" | "latin1" = "utf8"): string {
    const at = this.pos - this.bufStart;
    const s = this.buf.toString(encoding, at, at + n);
    this.pos += n;
    return s;
  }

  /** A scalar metadata value of GGUF type `type` (its bytes are in the window). */
  scalar(type: number): number {
    const at = this.pos - this.bufStart;
    const b = this.buf;
    const v = [
      () => b.readUInt8(at),
      () => b.readInt8(at),
      () => b.readUInt16LE(at),
      () => b.readInt16LE(at),
      () => b.readUInt32LE(at),
      () => b.readInt32LE(at),
      () => b.readFloatLE(at),
      () => b.readUInt8(at),
      () => 0,
      () => 0,
      () => Number(b.readBigUInt64LE(at)),
      () => Number(b.readBigInt64LE(at)),
      () => b.readDoubleLE(at),
    ][type]!();
    this.pos += SCALAR_SIZE[type]!;
    return v;
  }

  /** The next n bytes, without moving on (a view of the window). */
  peek(n: number): Buffer {
    const at = this.pos - this.bufStart;
    return this.buf.subarray(at, at + n);
  }

  /** The next n bytes, one character per byte (exact, unlike UTF-8 decoding of invalid sequences). */
  bytes(n: number): string {
    return this.text(n, "latin1");
  }

  skip(n: number): void {
    this.pos += n;
  }
}
