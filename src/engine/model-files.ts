import { constants, type Stats } from "node:fs";
import { access, open, stat, type FileHandle } from "node:fs/promises";
import { readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { KNOWN_ARCHITECTURES } from "./gguf/architectures.js";
import { readGgufHeader } from "./gguf/header.js";
import { checkHyperparameters } from "./gguf/hyperparameters.js";
import { GGML_TYPE_NAMES, SUPPORTED_TENSOR_TYPES } from "./gguf/tensor-types.js";
import type { GgufHeader } from "./gguf/types.js";
import { modelFileError } from "./model-file-error.js";

/**
 * Checks a model file before node-llama-cpp touches it. llama.cpp aborts the whole process on
 * some malformed files (e.g. an f64 tensor), and node-llama-cpp's own GGUF reader loops for ever
 * on a header that claims 2^62 entries, so everything that can be decided from the file itself is
 * decided here, in JavaScript, with a message that names the cause and the fix: the file type,
 * then the whole GGUF header (every count and length bounded by the bytes the file really has),
 * then the metadata node-llama-cpp reads from it.
 */

export interface ModelFileCheck {
  path: string;
  sizeBytes: number;
  info: GgufFileInfo;
  architecture: string;
  /** Custom `arbitrage.*` metadata of the embedded models (role, classifier query), when present. */
  arbitrage: Record<string, string>;
}

/** The failure of stat/open on the path itself, by errno. */
function pathFailure(e: unknown, label: string, path: string): never {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT":
      return modelFileError(
        "model-missing",
        label,
        path,
        'file not found. Check the path in the settings, or pick a model with "Arbitrage: Select Models…".',
      );
    case "ENOTDIR":
      return modelFileError(
        "model-missing",
        label,
        path,
        "file not found: a part of the path is a file, not a folder. Check the path in the settings.",
      );
    case "ENAMETOOLONG":
      return modelFileError("model-missing", label, path, "file not found: the path is too long. Check the path in the settings.");
    case "ELOOP":
      return modelFileError(
        "model-symlink-loop",
        label,
        path,
        "is a symbolic link loop (the link leads back to itself). Point the setting at the real .gguf file.",
      );
    case "EACCES":
    case "EPERM":
      return modelFileError(
        "model-unreadable",
        label,
        path,
        "cannot be read (permission denied). Fix the file's permissions or copy it somewhere readable.",
      );
    default:
      return modelFileError("model-unreadable", label, path, `cannot be read (${err.code ?? err.message}). Check the file and the disk it is on.`);
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
  if (st.isDirectory()) modelFileError("model-is-directory", label, path, "is a directory, not a .gguf file. Choose the model file inside it.");
  // Before anything opens it: reading a FIFO blocks until a writer comes, and /dev/zero never ends.
  if (!st.isFile()) modelFileError("model-not-regular-file", label, path, `is not a regular file: it is ${fileKind(st)}. Choose a .gguf model file.`);
  try {
    await access(path, constants.R_OK);
  } catch {
    modelFileError("model-unreadable", label, path, "cannot be read (permission denied). Fix the file's permissions or copy it somewhere readable.");
  }
  if (st.size === 0) modelFileError("model-empty", label, path, "the file is empty (an interrupted download?). Download it again.");

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
    if (!fst.isFile())
      modelFileError("model-not-regular-file", label, path, `is not a regular file: it is ${fileKind(fst)}. Choose a .gguf model file.`);
    size = fst.size;
    header = await readGgufHeader(handle, size, label, path);
  } finally {
    await handle.close();
  }

  for (const tensor of header.tensors) {
    if (!SUPPORTED_TENSOR_TYPES.has(tensor.type)) {
      const type = GGML_TYPE_NAMES[tensor.type] ?? `type ${tensor.type}`;
      modelFileError(
        "model-corrupt",
        label,
        path,
        `tensor ${tensor.name} has type ${type}, which llama.cpp cannot evaluate (it would abort the engine). Re-export the model with F32/F16/quantised tensors.`,
      );
    }
  }
  if (header.dataEnd > size) {
    modelFileError("model-corrupt", label, path, `the file is truncated (${size} bytes, tensor data needs ${header.dataEnd}). Download it again.`);
  }

  // The header is sound, so node-llama-cpp's reader now finishes, on bounded counts.
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
  } catch (e) {
    modelFileError(
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
    modelFileError(
      "model-not-llm",
      label,
      path,
      `is a GGUF file but not a language model (architecture ${JSON.stringify(architecture || "none")}, no tokenizer or layers). Choose a text-generation model.`,
    );
  }
  if (!KNOWN_ARCHITECTURES.has(architecture)) {
    modelFileError(
      "model-unsupported-architecture",
      label,
      path,
      `its architecture ${JSON.stringify(architecture)} is not one the llama.cpp in this build can run (it knows ${KNOWN_ARCHITECTURES.size}, e.g. llama, qwen2, qwen3, gemma3, phi3). Choose a model of a supported architecture, or an Arbitrage release with a newer llama.cpp.`,
    );
  }

  checkHyperparameters(header.values, architecture, header.tensors, (detail) =>
    modelFileError("model-corrupt", label, path, `the file is corrupt: ${detail}, which would abort llama.cpp. Download it again or re-convert it.`),
  );

  const arbitrage: Record<string, string> = {};
  const custom = meta.arbitrage as Record<string, unknown> | undefined;
  flatten(custom, "", arbitrage);
  return { path, sizeBytes: size, info, architecture, arbitrage };
}

function flatten(obj: Record<string, unknown> | undefined, prefix: string, out: Record<string, string>): void {
  if (!obj) return;
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = String(v);
  }
}
