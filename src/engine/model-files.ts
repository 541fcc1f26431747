import { constants, type Stats } from "node:fs";
import { access, open, stat, type FileHandle } from "node:fs/promises";
import * as nodeLlamaCpp from "node-llama-cpp";
import { readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { ArbitrageError, type ErrorCode } from "./errors.js";

/**
 * Checks a model file before node-llama-cpp touches it. llama.cpp aborts the whole process on
 * some malformed files (e.g. an f64 tensor), and node-llama-cpp's own GGUF reader loops for ever
 * on a header that claims 2^62 entries, so everything that can be decided from the file itself is
 * decided here, in JavaScript, with a message that names the cause and the fix: the file type,
 * then the whole GGUF header (every count and length bounded by the bytes the file really has),
 * then the metadata node-llama-cpp reads from it.
 */

/** Tensor types llama.cpp's CPU backend evaluates; anything else (F64, integer tensors) aborts inside ggml. */
const SUPPORTED_TENSOR_TYPES = new Set([0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 29, 30, 34, 35, 39]);
const GGML_TYPE_NAMES: Record<number, string> = { 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64" };

/**
 * Block size (elements) and bytes per block of every ggml type (ggml.c's type_traits in the bundled
 * llama.cpp); the types ggml removed (4, 5, 31-33, 36-38) have none and llama.cpp refuses them.
 */
const TYPE_LAYOUT: Record<number, readonly [number, number]> = {
  0: [1, 4],
  1: [1, 2],
  2: [32, 18],
  3: [32, 20],
  6: [32, 22],
  7: [32, 24],
  8: [32, 34],
  9: [32, 36],
  10: [256, 84],
  11: [256, 110],
  12: [256, 144],
  13: [256, 176],
  14: [256, 210],
  15: [256, 292],
  16: [256, 66],
  17: [256, 74],
  18: [256, 98],
  19: [256, 50],
  20: [32, 18],
  21: [256, 110],
  22: [256, 82],
  23: [256, 136],
  24: [1, 1],
  25: [1, 2],
  26: [1, 4],
  27: [1, 8],
  28: [1, 8],
  29: [256, 56],
  30: [1, 2],
  34: [256, 54],
  35: [256, 66],
  39: [32, 17],
  40: [64, 36],
  41: [128, 18],
  42: [64, 18],
};

// GgufArchitectureType is declared a `const enum` but is a real object at run time: read it as one.
const ARCHITECTURE_ENUM = (nodeLlamaCpp as unknown as { GgufArchitectureType: Record<string, string> }).GgufArchitectureType;

/**
 * Architectures the bundled llama.cpp loads (its src/llama-arch.cpp): node-llama-cpp's
 * GgufArchitectureType, plus those that llama.cpp release already knows but the enum lags behind on.
 * For any other name llama.cpp throws "unknown model architecture", which reaches us only as
 * node-llama-cpp's "Failed to load model".
 */
export const KNOWN_ARCHITECTURES: ReadonlySet<string> = new Set([
  ...Object.values(ARCHITECTURE_ENUM).filter((a) => a !== "(unknown)"),
  ...["bailingmoe3", "dots3note", "granite_swa", "hrm_text", "hy_v4", "kimi-k3", "maple", "minimax-01", "pockettts", "qwen4exp", "spark2_5"],
]);

/** GGUF metadata value types: byte size of the scalars (8 = string and 9 = array are variable). */
const SCALAR_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const VALUE_TYPE_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];

const HEADER_BYTES = 24; // magic, u32 version, u64 tensor count, u64 metadata count
const MIN_KV_BYTES = 8 + 4 + 1; // key length, value type, smallest value
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8; // name length, dimension count, type, offset
const MAX_KEY_BYTES = 65535; // the GGUF spec's limit
const MAX_TENSOR_NAME_BYTES = 63; // GGML_MAX_NAME - 1
const MAX_KEPT_STRING_BYTES = 1024; // string values kept for the checks (architecture, RoPE scaling type)
const GGML_MAX_DIMS = 4;
const LLAMA_MAX_LAYERS = 512;
const LLAMA_MAX_EXPERTS = 1024;
const INT64_MAX = 2n ** 63n - 1n;

export interface ModelFileCheck {
  path: string;
  sizeBytes: number;
  info: GgufFileInfo;
  architecture: string;
  /** Custom `arbitrage.*` metadata of the embedded models (role, classifier query), when present. */
  arbitrage: Record<string, string>;
}

function fail(code: ErrorCode, label: string, path: string, detail: string): never {
  throw new ArbitrageError(code, `${label} model ${JSON.stringify(path)}: ${detail}`);
}

/** The failure of stat/open on the path itself, by errno. */
function pathFailure(e: unknown, label: string, path: string): never {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT":
      return fail("model-missing", label, path, 'file not found. Check the path in the settings, or pick a model with "Arbitrage: Select Models…".');
    case "ENOTDIR":
      return fail("model-missing", label, path, "file not found: a part of the path is a file, not a folder. Check the path in the settings.");
    case "ENAMETOOLONG":
      return fail("model-missing", label, path, "file not found: the path is too long. Check the path in the settings.");
    case "ELOOP":
      return fail(
        "model-symlink-loop",
        label,
        path,
        "is a symbolic link loop (the link leads back to itself). Point the setting at the real .gguf file.",
      );
    case "EACCES":
    case "EPERM":
      return fail("model-unreadable", label, path, "cannot be read (permission denied). Fix the file's permissions or copy it somewhere readable.");
    default:
      return fail("model-unreadable", label, path, `cannot be read (${err.code ?? err.message}). Check the file and the disk it is on.`);
  }
}

function fileKind(st: Stats): string {
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a plain file";
}

export async function checkModelFile(path: string, label: string): Promise<ModelFileCheck> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    pathFailure(e, label, path);
  }
  if (st.isDirectory()) fail("model-is-directory", label, path, "is a directory, not a .gguf file. Choose the model file inside it.");
  // Before anything opens it: reading a FIFO blocks until a writer comes, and /dev/zero never ends.
  if (!st.isFile()) fail("model-not-regular-file", label, path, `is not a regular file: it is ${fileKind(st)}. Choose a .gguf model file.`);
  try {
    await access(path, constants.R_OK);
  } catch {
    fail("model-unreadable", label, path, "cannot be read (permission denied). Fix the file's permissions or copy it somewhere readable.");
  }
  if (st.size === 0) fail("model-empty", label, path, "the file is empty (an interrupted download?). Download it again.");

  let handle: FileHandle;
  try {
    // O_NONBLOCK: should the path have been swapped for a FIFO since the stat, open does not wait for a writer.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    pathFailure(e, label, path);
  }
  let header: GgufHeader;
  let size: number;
  try {
    const fst = await handle.stat();
    if (!fst.isFile()) fail("model-not-regular-file", label, path, `is not a regular file: it is ${fileKind(fst)}. Choose a .gguf model file.`);
    size = fst.size;
    header = await readGgufHeader(handle, size, label, path);
  } finally {
    await handle.close();
  }

  for (const tensor of header.tensors) {
    if (!SUPPORTED_TENSOR_TYPES.has(tensor.type)) {
      const type = GGML_TYPE_NAMES[tensor.type] ?? `type ${tensor.type}`;
      fail(
        "model-corrupt",
        label,
        path,
        `tensor ${tensor.name} has type ${type}, which llama.cpp cannot evaluate (it would abort the engine). Re-export the model with F32/F16/quantised tensors.`,
      );
    }
  }
  if (header.dataEnd > size) {
    fail("model-corrupt", label, path, `the file is truncated (${size} bytes, tensor data needs ${header.dataEnd}). Download it again.`);
  }

  // The header is sound, so node-llama-cpp's reader now finishes, on bounded counts.
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
  } catch (e) {
    fail(
      "model-corrupt",
      label,
      path,
      `the GGUF header cannot be read (${(e as Error).message}). The file is truncated or corrupt: download it again.`,
    );
  }

  const meta = info.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
  const architecture = String(meta.general?.architecture ?? "");
  const archMeta = meta[architecture];
  if (!architecture || !archMeta || archMeta.block_count === undefined || !meta.tokenizer) {
    fail(
      "model-not-llm",
      label,
      path,
      `is a GGUF file but not a language model (architecture ${JSON.stringify(architecture || "none")}, no tokenizer or layers). Choose a text-generation model.`,
    );
  }
  if (!KNOWN_ARCHITECTURES.has(architecture)) {
    fail(
      "model-unsupported-architecture",
      label,
      path,
      `its architecture ${JSON.stringify(architecture)} is not one the llama.cpp in this build can run (it knows ${KNOWN_ARCHITECTURES.size}, e.g. llama, qwen2, qwen3, gemma3, phi3). Choose a model of a supported architecture, or an Arbitrage release with a newer llama.cpp.`,
    );
  }

  checkHyperparameters(header.values, architecture, header.tensors, (detail) =>
    fail("model-corrupt", label, path, `the file is corrupt: ${detail}, which would abort llama.cpp. Download it again or re-convert it.`),
  );

  const arbitrage: Record<string, string> = {};
  const custom = meta.arbitrage as Record<string, unknown> | undefined;
  flatten(custom, "", arbitrage);
  return { path, sizeBytes: size, info, architecture, arbitrage };
}

const ROPE_SCALING_TYPES = new Set(["none", "linear", "yarn", "longrope"]);

/** Layer tensors whose shape llama.cpp derives from a hyperparameter (a 0 there is a GGML_ASSERT abort in create_tensor). */
const LAYER_TENSOR =
  /^blk\.(\d+)\.(ffn_up|ffn_gate|ffn_down|ffn_up_exps|ffn_gate_exps|ffn_down_exps|attn_q|attn_k|attn_v|attn_qkv|attn_output)\.weight$/;

/**
 * The architecture-independent GGML_ASSERTs of llama.cpp's load_hparams and create_tensor
 * (src/llama-model.cpp, src/llama-model-loader.cpp), checked on the metadata first: llama.cpp
 * aborts the process on them instead of failing the load.
 */
function checkHyperparameters(
  values: ReadonlyMap<string, MetadataValue>,
  arch: string,
  tensors: GgufTensor[],
  corrupt: (detail: string) => never,
): void {
  const get = (key: string) => values.get(`${arch}.${key}`);
  const num = (v: MetadataValue | undefined) => (typeof v === "number" ? v : undefined);
  const perLayer = (key: string, layer: number): number | undefined => {
    const v = get(key);
    return Array.isArray(v) ? v[layer] : num(v);
  };
  const max = (key: string): number => {
    const v = get(key);
    return Array.isArray(v) ? Math.max(0, ...v) : (num(v) ?? 0);
  };
  const layers = num(get("block_count"));
  if (layers === undefined || !(layers >= 1 && layers <= LLAMA_MAX_LAYERS)) {
    corrupt(`its metadata says ${arch}.block_count = ${JSON.stringify(get("block_count"))} (llama.cpp runs 1 to ${LLAMA_MAX_LAYERS} layers)`);
  }
  const nextn = num(get("nextn_predict_layers")) ?? 0;
  if (nextn > layers) corrupt(`its metadata says ${arch}.nextn_predict_layers = ${nextn}, more than block_count = ${layers}`);
  const embedding = num(get("embedding_length"));
  if (embedding !== undefined && embedding < 1) corrupt(`its metadata says ${arch}.embedding_length = ${embedding}`);

  let experts = num(get("expert_count")) ?? 0;
  let used = max("expert_used_count");
  if ((arch === "hunyuan-dense" || arch === "hunyuan_vl") && experts <= 1) [experts, used] = [0, 0]; // llama.cpp's own fix-up
  const groups = num(get("expert_group_count")) ?? 0;
  const groupsUsed = num(get("expert_group_used_count")) ?? 0;
  const expertsDetail = `expert_count = ${experts}, expert_used_count = ${used}, expert_group_count = ${groups}, expert_group_used_count = ${groupsUsed}`;
  const expertsOk =
    experts <= LLAMA_MAX_EXPERTS &&
    used <= experts &&
    (experts > 0
      ? used > 0 && groups < experts && (groups <= 1 || (experts % groups === 0 && groupsUsed > 0 && groupsUsed < groups))
      : used === 0 && groups === 0);
  if (!expertsOk) corrupt(`its metadata has inconsistent experts (${expertsDetail})`);

  const ropeScaling = get("rope.scaling.type");
  if (ropeScaling !== undefined && !ROPE_SCALING_TYPES.has(String(ropeScaling))) {
    corrupt(`its metadata says ${arch}.rope.scaling.type = ${short(String(ropeScaling))} (llama.cpp knows ${[...ROPE_SCALING_TYPES].join(", ")})`);
  }

  // llama.cpp's per-layer sizes: a missing head count or feed-forward length is 0, a missing KV head
  // count is the head count, and the head size is key_length or embedding_length / head count of layer 0.
  const heads = (layer: number) => perLayer("attention.head_count", layer) ?? 0;
  const kvHeads = (layer: number) =>
    get("attention.head_count_kv") === undefined ? heads(layer) : (perLayer("attention.head_count_kv", layer) ?? 0);
  const headSize = (which: "key" | "value") => {
    const explicit = num(get(`attention.${which}_length`));
    if (explicit !== undefined) return { size: explicit, from: `${arch}.attention.${which}_length = ${explicit}` };
    if (embedding === undefined || heads(0) === 0) return undefined; // another arch-specific rule decides
    return { size: Math.floor(embedding / heads(0)), from: `${arch}.embedding_length / ${arch}.attention.head_count = ${embedding} / ${heads(0)}` };
  };
  const sizes: Record<string, (layer: number) => [number, string] | undefined> = {
    heads: (l) => [heads(l), `${arch}.attention.head_count = ${get("attention.head_count") === undefined ? "(missing, so 0)" : heads(l)}`],
    kvHeads: (l) => [kvHeads(l), `${arch}.attention.head_count_kv = ${kvHeads(l)}`],
    keySize: () => {
      const k = headSize("key");
      return k && [k.size, `a key size of ${k.from}`];
    },
    valueSize: () => {
      const v = headSize("value");
      return v && [v.size, `a value size of ${v.from}`];
    },
    ffn: (l) => [
      perLayer("feed_forward_length", l) ?? 0,
      `${arch}.feed_forward_length = ${get("feed_forward_length") === undefined ? "(missing, so 0)" : perLayer("feed_forward_length", l)}`,
    ],
    expertFfn: (l) => {
      const v = perLayer("expert_feed_forward_length", l);
      return v === undefined ? undefined : [v, `${arch}.expert_feed_forward_length = ${v}`];
    },
  };
  for (const t of tensors) {
    const m = LAYER_TENSOR.exec(t.name);
    if (!m) continue;
    const layer = Number(m[1]);
    const kind = m[2]!;
    const needs = kind.endsWith("_exps")
      ? ["expertFfn"]
      : kind.startsWith("ffn_")
        ? ["ffn"]
        : kind === "attn_k" || kind === "attn_v"
          ? ["kvHeads", "keySize", "valueSize"]
          : kind === "attn_qkv"
            ? ["heads", "kvHeads", "keySize", "valueSize"]
            : ["heads", "keySize", "valueSize"];
    for (const need of needs) {
      const found = sizes[need]!(layer);
      if (found && found[0] < 1) corrupt(`layer ${layer} has the tensor ${t.name}, but its metadata gives it ${found[1]}`);
    }
  }
}

function flatten(obj: Record<string, unknown> | undefined, prefix: string, out: Record<string, string>): void {
  if (!obj) return;
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = String(v);
  }
}

type MetadataValue = number | string | number[];

interface GgufTensor {
  name: string;
  type: number;
}

export interface GgufHeader {
  version: number;
  tensorCount: number;
  metadataCount: number;
  alignment: number;
  /** The scalar values, strings up to 1 KiB and numeric arrays up to 512 long, by key, exactly as stored. */
  values: ReadonlyMap<string, MetadataValue>;
  tensors: GgufTensor[];
  /** Where the data section starts. */
  dataOffset: number;
  /** The end of the last tensor's data: the file must be at least this long. */
  dataEnd: number;
}

const CHUNK_BYTES = 1 << 20;

/** Forward-only reads of a file through a window of at most about a MiB (more only for one long key or name). */
class WindowReader {
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

/**
 * The tokens seen so far, to find a repeated one among a 262k-token vocabulary in a few tens of ms:
 * an open-addressing table of two 32-bit hashes of each token's bytes, and on a match the earlier
 * token's bytes read back from the file and compared. Empty tokens are distinct (llama.cpp renames
 * them "[EMPTY_<id>]").
 */
class TokenSet {
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

function short(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

/**
 * Walks the GGUF header (metadata and tensor infos) the way llama.cpp's gguf.cpp reads it, and
 * rejects, with the entry and the numbers, whatever llama.cpp or node-llama-cpp would choke on:
 * counts and lengths past the end of the file, unknown types, and llama.cpp's own header rules.
 */
export async function readGgufHeader(handle: FileHandle, size: number, label: string, path: string): Promise<GgufHeader> {
  const corrupt: (detail: string) => never = (detail) =>
    fail("model-corrupt", label, path, `the file is corrupt: ${detail}. Download it again or re-convert it.`);
  const r = new WindowReader(handle, size);
  const ensure = async (n: number, what: string) => {
    if (n > r.left) corrupt(`${what} needs ${n} bytes but the file has only ${r.left} left`);
    if (!r.has(n)) await r.need(n);
  };

  await r.need(Math.min(size, HEADER_BYTES));
  if (size < 4 || r.text(4) !== "GGUF") {
    fail("model-not-gguf", label, path, "is not a GGUF file (wrong magic bytes). Arbitrage runs llama.cpp GGUF models; convert or download a .gguf.");
  }
  if (size < 8) corrupt(`the file is truncated: a GGUF header needs ${HEADER_BYTES} bytes, the file has ${size}`);
  const version = r.u32();
  if (version === 1)
    fail(
      "model-unsupported-version",
      label,
      path,
      "GGUF version 1 is no longer supported by llama.cpp (this build reads v2/v3). Re-convert the model with a current llama.cpp.",
    );
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff && (version & 0xffff) === 0 ? " — it looks byte-swapped, i.e. a big-endian GGUF" : "";
    fail(
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

  // Metadata: key (u64 length + bytes), u32 value type, value.
  const keys = new Set<string>();
  const values = new Map<string, MetadataValue>();
  let alignment = 32;
  for (let i = 0; i < metadataCount; i++) {
    const entry = `metadata entry ${i}`;
    await ensure(8, `${entry}'s key length`);
    const keyLength = r.u64();
    if (keyLength > r.left) corrupt(`${entry} claims a key of ${r.lastU64()} bytes but the file has only ${r.left} left`);
    if (keyLength === 0) corrupt(`${entry} has an empty key`);
    if (keyLength > MAX_KEY_BYTES) corrupt(`${entry} has a key of ${keyLength} bytes (GGUF keys have at most ${MAX_KEY_BYTES})`);
    await r.need(keyLength);
    const key = r.text(keyLength);
    const at = `${entry} (${short(key)})`;
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
              corrupt(`${at} element ${j} is the same token as element ${earlier} (${short(token)}), which aborts llama.cpp`);
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

  // Tensor infos: name, u32 dimension count, u64 dimensions, u32 ggml type, u64 offset in the data section.
  const names = new Set<string>();
  const tensors: GgufTensor[] = [];
  const ends: bigint[] = [];
  let expectedOffset = 0n;
  const pad = (n: bigint, a: bigint) => ((n + a - 1n) / a) * a;
  for (let i = 0; i < tensorCount; i++) {
    const entry = `tensor info ${i}`;
    await ensure(8, `${entry}'s name length`);
    const nameLength = r.u64();
    if (nameLength > r.left) corrupt(`${entry} claims a name of ${r.lastU64()} bytes but the file has only ${r.left} left`);
    if (nameLength > MAX_TENSOR_NAME_BYTES) corrupt(`${entry} has a name of ${nameLength} bytes (llama.cpp allows at most ${MAX_TENSOR_NAME_BYTES})`);
    await r.need(nameLength);
    const name = r.text(nameLength);
    const at = `tensor ${i} (${short(name)})`;
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
  const dataOffset = tensorCount > 0 ? Number(pad(BigInt(r.pos), BigInt(alignment))) : r.pos;
  const lastEnd = ends.reduce((a, e) => (e > a ? e : a), 0n);
  const dataEnd = Number(BigInt(dataOffset) + lastEnd);
  return { version, tensorCount, metadataCount, alignment, values, tensors, dataOffset, dataEnd };
}
