import type { FileHandle } from "node:fs/promises";
import { quoted } from "../../shared/quoted.js";
import { modelFileError } from "../model-file-error.js";
import { LLAMA_MAX_LAYERS } from "./hyperparameters.js";
import { TYPE_LAYOUT } from "./tensor-types.js";
import { TokenSet } from "./token-set.js";
import type { GgufHeader, GgufTensor, MetadataValue } from "./types.js";
import { SCALAR_SIZE, VALUE_TYPE_NAMES } from "./value-types.js";
import { WindowReader } from "./window-reader.js";

const HEADER_BYTES = 24; // magic, u32 version, u64 tensor count, u64 metadata count
const MIN_KV_BYTES = 8 + 4 + 1; // key length, value type, smallest value
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8; // name length, dimension count, type, offset
const MAX_KEY_BYTES = 65535; // the GGUF spec's limit
const MAX_TENSOR_NAME_BYTES = 63; // GGML_MAX_NAME - 1
const MAX_KEPT_STRING_BYTES = 1024; // string values kept for the checks (architecture, RoPE scaling type)
const GGML_MAX_DIMS = 4;
const INT64_MAX = 2n ** 63n - 1n;

/** The reader, and the two ways a header read fails: `corrupt` with a detail, `ensure` for bytes the file lacks. */
interface HeaderWalk {
  handle: FileHandle;
  r: WindowReader;
  corrupt: (detail: string) => never;
  ensure: (n: number, what: string) => Promise<void>;
}

/**
 * Walks the GGUF header (metadata and tensor infos) the way llama.cpp's gguf.cpp reads it, and
 * rejects, with the entry and the numbers, whatever llama.cpp or node-llama-cpp would choke on:
 * counts and lengths past the end of the file, unknown types, and llama.cpp's own header rules.
 */
export async function readGgufHeader(handle: FileHandle, size: number, label: string, path: string): Promise<GgufHeader> {
  const corrupt: (detail: string) => never = (detail) =>
    modelFileError("model-corrupt", label, path, `the file is corrupt: ${detail}. Download it again or re-convert it.`);
  const r = new WindowReader(handle, size);
  const ensure = async (n: number, what: string) => {
    if (n > r.left) corrupt(`${what} needs ${n} bytes but the file has only ${r.left} left`);
    if (!r.has(n)) await r.need(n);
  };
  const walk: HeaderWalk = { handle, r, corrupt, ensure };

  await r.need(Math.min(size, HEADER_BYTES));
  if (size < 4 || r.text(4) !== "GGUF") {
    modelFileError(
      "model-not-gguf",
      label,
      path,
      "is not a GGUF file (wrong magic bytes). Arbitrage runs llama.cpp GGUF models; convert or download a .gguf.",
    );
  }
  if (size < 8) corrupt(`the file is truncated: a GGUF header needs ${HEADER_BYTES} bytes, the file has ${size}`);
  const version = r.u32();
  if (version === 1)
    modelFileError(
      "model-unsupported-version",
      label,
      path,
      "GGUF version 1 is no longer supported by llama.cpp (this build reads v2/v3). Re-convert the model with a current llama.cpp.",
    );
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff && (version & 0xffff) === 0 ? " — it looks byte-swapped, i.e. a big-endian GGUF" : "";
    modelFileError(
      "model-unsupported-version",
      label,
      path,
      `unsupported GGUF version ${version} (this build reads v2/v3)${hint}. Download or convert a current GGUF of the model.`,
    );
  }
  if (size < HEADER_BYTES) corrupt(`the file is truncated: a GGUF header needs ${HEADER_BYTES} bytes, the file has ${size}`);
  const tensorCount = r.u64();
  const tensorCountExact = r.lastU64();
  const metadataCount = r.u64();
  const metadataCountExact = r.lastU64();
  const body = size - HEADER_BYTES;
  if (metadataCount > Math.floor(body / MIN_KV_BYTES)) {
    corrupt(
      `the header claims ${metadataCountExact} metadata entries, but the ${body} bytes after it hold at most ${Math.floor(body / MIN_KV_BYTES)}`,
    );
  }
  if (tensorCount > Math.floor(body / MIN_TENSOR_INFO_BYTES)) {
    corrupt(`the header claims ${tensorCountExact} tensors, but the ${body} bytes after it hold at most ${Math.floor(body / MIN_TENSOR_INFO_BYTES)}`);
  }

  const { values, alignment } = await readMetadata(walk, metadataCount);
  const { tensors, ends } = await readTensorInfos(walk, tensorCount, alignment);
  const dataOffset = tensorCount > 0 ? Number(pad(BigInt(r.pos), BigInt(alignment))) : r.pos;
  const lastEnd = ends.reduce((a, e) => (e > a ? e : a), 0n);
  const dataEnd = Number(BigInt(dataOffset) + lastEnd);
  return { version, tensorCount, metadataCount, alignment, values, tensors, dataOffset, dataEnd };
}

const pad = (n: bigint, a: bigint) => ((n + a - 1n) / a) * a;

/** The metadata section: key (u64 length + bytes), u32 value type, value; the values the checks need, and the alignment. */
async function readMetadata(walk: HeaderWalk, metadataCount: number): Promise<{ values: Map<string, MetadataValue>; alignment: number }> {
  const keys = new Set<string>();
  const values = new Map<string, MetadataValue>();
  let alignment = 32;
  for (let i = 0; i < metadataCount; i++) {
    const { handle, r, ensure } = walk;
    const corrupt: (detail: string) => never = walk.corrupt;
    const entry = `metadata entry ${i}`;
    await ensure(8, `${entry}'s key length`);
    const keyLength = r.u64();
    if (keyLength > r.left) corrupt(`${entry} claims a key of ${r.lastU64()} bytes but the file has only ${r.left} left`);
    if (keyLength === 0) corrupt(`${entry} has an empty key`);
    if (keyLength > MAX_KEY_BYTES) corrupt(`${entry} has a key of ${keyLength} bytes (GGUF keys have at most ${MAX_KEY_BYTES})`);
    await r.need(keyLength);
    const key = r.text(keyLength);
    const at = `${entry} (${quoted(key)})`;
    if (keys.has(key)) corrupt(`${at} repeats a key of an earlier entry`);
    keys.add(key);
    await ensure(4, `${at}'s value type`);
    const type = r.u32();
    if (type === 9) {
      await ensure(12, `${at}'s array header`);
      const elementType = r.u32();
      const count = r.u64();
      const countExact = r.lastU64();
      if (elementType === 9) corrupt(`${at} is an array of arrays, which llama.cpp does not read`);
      if (elementType === 8) {
        if (count * 8 > r.left)
          corrupt(`${at} claims an array of ${countExact} strings (at least ${countExact * 8n} bytes) but the file has only ${r.left} left`);
        // llama.cpp maps each token's bytes to its id and aborts when two tokens are the same.
        const tokens = key === "tokenizer.ggml.tokens" ? new TokenSet(handle) : null;
        if (tokens && count === 0) corrupt(`${at} is empty: the model has no tokens`);
        for (let j = 0; j < count; j++) {
          if (!r.has(8)) await ensure(8, `${at} element ${j}'s length`);
          const length = r.u64();
          if (length > r.left) corrupt(`${at} element ${j} claims a string of ${r.lastU64()} bytes but the file has only ${r.left} left`);
          if (tokens && length <= MAX_KEY_BYTES) {
            if (!r.has(length)) await r.need(length);
            const same = tokens.add(j, r.pos, r.window, r.pos - r.windowStart, length);
            const earlier = same && (await tokens.confirm(same, r.peek(length)));
            if (earlier !== undefined) {
              const token = length === 0 ? `[EMPTY_${j}]` : r.bytes(length);
              corrupt(`${at} element ${j} is the same token as element ${earlier} (${quoted(token)}), which aborts llama.cpp`);
            }
          }
          r.skip(length);
        }
      } else {
        const elementSize = SCALAR_SIZE[elementType];
        if (elementSize === undefined) corrupt(`${at} is an array of unknown value type ${elementType}`);
        const bytes = count * elementSize;
        if (bytes > r.left) {
          corrupt(
            `${at} claims an array of ${countExact} ${VALUE_TYPE_NAMES[elementType]} values (${countExact * BigInt(elementSize)} bytes) but the file has only ${r.left} left`,
          );
        }
        if (count <= LLAMA_MAX_LAYERS) {
          // Per-layer hyperparameters come as short arrays.
          await r.need(bytes);
          values.set(
            key,
            Array.from({ length: count }, () => r.scalar(elementType)),
          );
        } else {
          r.skip(bytes);
        }
      }
    } else if (type === 8) {
      await ensure(8, `${at}'s string length`);
      const length = r.u64();
      if (length > r.left) corrupt(`${at} claims a string of ${r.lastU64()} bytes but the file has only ${r.left} left`);
      if (length <= MAX_KEPT_STRING_BYTES) {
        await r.need(length);
        values.set(key, r.text(length));
      } else {
        r.skip(length);
      }
    } else {
      const valueSize = SCALAR_SIZE[type];
      if (valueSize === undefined) corrupt(`${at} has unknown value type ${type}`);
      await ensure(valueSize, `${at}'s ${VALUE_TYPE_NAMES[type]} value`);
      const value = r.scalar(type);
      values.set(key, value);
      if (key === "general.alignment") {
        if (type !== 4) corrupt(`${at} must be a u32, not ${VALUE_TYPE_NAMES[type]}`);
        alignment = value;
        if (alignment === 0 || (alignment & (alignment - 1)) !== 0) corrupt(`${at} is ${alignment}, not a power of 2`);
      }
    }
  }

  return { values, alignment };
}

/** The tensor infos: name, u32 dimension count, u64 dimensions, u32 ggml type, u64 offset in the data section. */
async function readTensorInfos(walk: HeaderWalk, tensorCount: number, alignment: number): Promise<{ tensors: GgufTensor[]; ends: bigint[] }> {
  const names = new Set<string>();
  const tensors: GgufTensor[] = [];
  const ends: bigint[] = [];
  let expectedOffset = 0n;
  for (let i = 0; i < tensorCount; i++) {
    const { r, ensure } = walk;
    const corrupt: (detail: string) => never = walk.corrupt;
    const entry = `tensor info ${i}`;
    await ensure(8, `${entry}'s name length`);
    const nameLength = r.u64();
    if (nameLength > r.left) corrupt(`${entry} claims a name of ${r.lastU64()} bytes but the file has only ${r.left} left`);
    if (nameLength > MAX_TENSOR_NAME_BYTES) corrupt(`${entry} has a name of ${nameLength} bytes (llama.cpp allows at most ${MAX_TENSOR_NAME_BYTES})`);
    await r.need(nameLength);
    const name = r.text(nameLength);
    const at = `tensor ${i} (${quoted(name)})`;
    if (names.has(name)) corrupt(`${at} has the name of an earlier tensor`);
    names.add(name);
    await ensure(4, `${at}'s dimension count`);
    const dimCount = r.u32();
    if (dimCount > GGML_MAX_DIMS) corrupt(`${at} claims ${dimCount} dimensions (ggml has at most ${GGML_MAX_DIMS})`);
    await ensure(8 * dimCount + 12, `${at}'s shape, type and offset`);
    const dims = [1n, 1n, 1n, 1n];
    for (let d = 0; d < dimCount; d++) dims[d] = r.u64Big();
    if (dims.some((d) => d > INT64_MAX)) corrupt(`${at} has a negative dimension (${dims.slice(0, dimCount).join(" x ")} as signed 64-bit)`);
    const elements = dims.reduce((a, d) => a * d, 1n);
    if (elements > 0n && (dims[0]! * dims[1]! >= INT64_MAX || dims[0]! * dims[1]! * dims[2]! >= INT64_MAX || elements >= INT64_MAX)) {
      corrupt(`${at} has ${dims.slice(0, dimCount).join(" x ")} elements, more than ggml can count`);
    }
    const type = r.u32();
    const offset = r.u64Big();
    const layout = TYPE_LAYOUT[type];
    if (!layout) corrupt(`${at} has ggml type ${type}, which is unknown or no longer supported`);
    const [blockElements, blockBytes] = layout;
    if (dims[0]! % BigInt(blockElements) !== 0n) {
      corrupt(`${at} has rows of ${dims[0]} elements, not a multiple of its type's block of ${blockElements}`);
    }
    const bytes = (elements / BigInt(blockElements)) * BigInt(blockBytes);
    if (offset !== expectedOffset) {
      corrupt(`${at} says its data starts at byte ${offset} of the data section, but the tensors before it end at byte ${expectedOffset}`);
    }
    expectedOffset += pad(bytes, BigInt(alignment));
    ends.push(offset + bytes);
    tensors.push({ name, type });
  }
  return { tensors, ends };
}
