/**
 * Makes a copy of a GGUF file that llama.cpp loads but then aborts on natively: the first 1-D
 * F32 tensor (a norm weight) becomes F64 (ggml has no F64 kernels for its ops: "binary_op:
 * unsupported types"). Later tensor offsets are shifted so the file stays well-formed.
 * Used to test that such a model kills only the engine process.
 */
import { readFileSync, writeFileSync } from "node:fs";

const GGML_F32 = 0;
const GGML_F64 = 28;
const SCALAR_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export function writeAbortingGguf(src: string, dest: string): string {
  const buf = readFileSync(src);
  let o = 4;
  const u32 = () => {
    const v = buf.readUInt32LE(o);
    o += 4;
    return v;
  };
  const u64 = () => {
    const v = Number(buf.readBigUInt64LE(o));
    o += 8;
    return v;
  };
  const str = () => {
    const n = u64();
    const s = buf.toString("utf8", o, o + n);
    o += n;
    return s;
  };
  const skip = (t: number): void => {
    if (t === 8) {
      str();
      return;
    }
    if (t === 9) {
      const at = u32();
      const n = u64();
      for (let i = 0; i < n; i++) skip(at);
      return;
    }
    o += SCALAR_SIZES[t]!;
  };
  if (buf.toString("ascii", 0, 4) !== "GGUF") throw new Error(`${src} is not a GGUF file`);
  u32(); // version
  const nTensors = u64();
  const nKv = u64();
  let alignment = 32;
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const t = u32();
    if (key === "general.alignment" && t === 4) {
      alignment = buf.readUInt32LE(o);
    }
    skip(t);
  }
  const infos: { typePos: number; offPos: number; type: number; off: number; elements: number; dims: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    str();
    const nd = u32();
    let elements = 1;
    for (let j = 0; j < nd; j++) elements *= u64();
    const typePos = o;
    const type = u32();
    const offPos = o;
    const off = u64();
    infos.push({ typePos, offPos, type, off, elements, dims: nd });
  }
  const pad = (n: number) => Math.ceil(n / alignment) * alignment;
  const dataStart = pad(o);
  const idx = infos.findIndex((t, i) => t.dims === 1 && t.type === GGML_F32 && i < infos.length - 1);
  if (idx < 0) throw new Error("no 1-D F32 tensor to corrupt");
  const t = infos[idx]!;
  const oldSize = pad(t.elements * 4);
  const delta = pad(t.elements * 8) - oldSize;
  const out = Buffer.concat([buf.subarray(0, dataStart + t.off + oldSize), Buffer.alloc(delta), buf.subarray(dataStart + t.off + oldSize)]);
  out.writeUInt32LE(GGML_F64, t.typePos);
  for (const later of infos.slice(idx + 1)) out.writeBigUInt64LE(BigInt(later.off + delta), later.offPos);
  writeFileSync(dest, out);
  return dest;
}
