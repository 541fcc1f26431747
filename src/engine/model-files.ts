import { constants, type Stats } from "node:fs";
import { access, open, stat } from "node:fs/promises";
import { readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { ArbitrageError } from "./errors.js";

/**
 * Checks a model file before node-llama-cpp touches it. llama.cpp aborts the whole process on
 * some malformed files (e.g. an f64 tensor), so everything that can be decided from the file
 * itself is decided here, in JavaScript, with a message that names the cause and the fix.
 */

/** Tensor types llama.cpp's CPU backend evaluates; anything else (F64, integer tensors) aborts inside ggml. */
const SUPPORTED_TENSOR_TYPES = new Set([0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 29, 30, 34, 35, 39]);
const GGML_TYPE_NAMES: Record<number, string> = { 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64" };

/** Block size (elements) and bytes per block of each tensor type, to check the file holds all tensor data. */
const TYPE_LAYOUT: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 30: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210],
};

export interface ModelFileCheck {
  path: string;
  sizeBytes: number;
  info: GgufFileInfo;
  architecture: string;
  /** Custom `arbitrage.*` metadata of the embedded models (role, classifier query), when present. */
  arbitrage: Record<string, string>;
}

function fail(code: ConstructorParameters<typeof ArbitrageError>[0], label: string, path: string, detail: string): never {
  throw new ArbitrageError(code, `${label} model ${JSON.stringify(path)}: ${detail}`);
}

export async function checkModelFile(path: string, label: string): Promise<ModelFileCheck> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch {
    fail("model-missing", label, path, "file not found. Check the path in the settings, or pick a model with \"Arbitrage: Select Models…\".");
  }
  if (st.isDirectory()) fail("model-is-directory", label, path, "is a directory, not a .gguf file. Choose the model file inside it.");
  try {
    await access(path, constants.R_OK);
  } catch {
    fail("model-unreadable", label, path, "cannot be read (permission denied). Fix the file's permissions or copy it somewhere readable.");
  }
  if (st.size === 0) fail("model-empty", label, path, "the file is empty (an interrupted download?). Download it again.");

  const handle = await open(path, "r");
  try {
    const magic = Buffer.alloc(4);
    await handle.read(magic, 0, 4, 0);
    if (magic.toString("latin1") !== "GGUF") {
      fail("model-not-gguf", label, path, "is not a GGUF file (wrong magic bytes). Arbitrage runs llama.cpp GGUF models; convert or download a .gguf.");
    }
  } finally {
    await handle.close();
  }

  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
  } catch (e) {
    fail("model-corrupt", label, path, `the GGUF header cannot be read (${(e as Error).message}). The file is truncated or corrupt: download it again.`);
  }

  const meta = info.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
  const architecture = String(meta.general?.architecture ?? "");
  const archMeta = meta[architecture];
  if (!architecture || !archMeta || archMeta.block_count === undefined || !meta.tokenizer) {
    fail("model-not-llm", label, path, `is a GGUF file but not a language model (architecture ${JSON.stringify(architecture || "none")}, no tokenizer or layers). Choose a text-generation model.`);
  }

  let end = 0;
  for (const tensor of info.tensorInfo ?? []) {
    if (!SUPPORTED_TENSOR_TYPES.has(tensor.ggmlType)) {
      const type = GGML_TYPE_NAMES[tensor.ggmlType] ?? `type ${tensor.ggmlType}`;
      fail("model-corrupt", label, path, `tensor ${tensor.name} has type ${type}, which llama.cpp cannot evaluate (it would abort the engine). Re-export the model with F32/F16/quantised tensors.`);
    }
    const layout = TYPE_LAYOUT[tensor.ggmlType];
    if (layout) {
      const elements = tensor.dimensions.reduce<number>((a, d) => a * Number(d), 1);
      end = Math.max(end, Number(tensor.fileOffset) + (elements / layout[0]) * layout[1]);
    }
  }
  if (end > st.size) {
    fail("model-corrupt", label, path, `the file is truncated (${st.size} bytes, tensor data needs ${end}). Download it again.`);
  }

  const arbitrage: Record<string, string> = {};
  const custom = meta.arbitrage as Record<string, unknown> | undefined;
  flatten(custom, "", arbitrage);
  return { path, sizeBytes: st.size, info, architecture, arbitrage };
}

function flatten(obj: Record<string, unknown> | undefined, prefix: string, out: Record<string, string>): void {
  if (!obj) return;
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = String(v);
  }
}
