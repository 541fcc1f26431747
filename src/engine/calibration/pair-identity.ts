import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { basename } from "node:path";
import type { ModelFileCheck } from "../model-files.js";

/**
 * Which model a calibration belongs to. A full sha256 of a multi-GB GGUF costs seconds on every
 * engine start, so a model is identified by its size, its GGUF architecture and name, and a
 * sha256 of its first and last MiB: the first holds the header, the metadata and the tensor
 * table (any re-quantisation or different fine-tune changes it), the last the final tensor data.
 * Moving or renaming the file keeps the identity; rewriting it does not.
 */
export interface ModelIdentity {
  /** The file's name when calibrated (shown to people; not part of the identity). */
  file: string;
  sizeBytes: number;
  architecture: string;
  name: string;
  /** sha256 of the size, the first MiB and the last MiB. */
  fingerprint: string;
}

const EDGE = 1 << 20;

export async function modelIdentity(check: ModelFileCheck): Promise<ModelIdentity> {
  const hash = createHash("sha256").update(String(check.sizeBytes));
  const handle = await open(check.path, "r");
  try {
    const head = Buffer.alloc(Math.min(EDGE, check.sizeBytes));
    await handle.read(head, 0, head.length, 0);
    const tailStart = Math.max(0, check.sizeBytes - EDGE);
    const tail = Buffer.alloc(check.sizeBytes - tailStart);
    await handle.read(tail, 0, tail.length, tailStart);
    hash.update(head).update(tail);
  } finally {
    await handle.close();
  }
  const general = (check.info.metadata as { general?: { name?: unknown } }).general;
  return {
    file: basename(check.path),
    sizeBytes: check.sizeBytes,
    architecture: check.architecture,
    name: typeof general?.name === "string" ? general.name : "",
    fingerprint: hash.digest("hex"),
  };
}

export interface PairIdentity {
  draft: ModelIdentity;
  target: ModelIdentity;
}

export function sameModel(a: ModelIdentity, b: ModelIdentity): boolean {
  return a.fingerprint === b.fingerprint && a.sizeBytes === b.sizeBytes;
}

/** The calibration file's name for a pair: order matters (draft → target). */
export function pairKey(pair: PairIdentity): string {
  return createHash("sha256").update(`${pair.draft.fingerprint}>${pair.target.fingerprint}`).digest("hex").slice(0, 24);
}

export function describePair(pair: PairIdentity): string {
  return `${pair.draft.file} → ${pair.target.file}`;
}
