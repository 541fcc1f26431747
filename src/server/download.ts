/**
 * Model downloads for "Arbitrage: Download Recommended Models", in the engine process, with
 * node-llama-cpp's downloader (ipull: written to `<file>.ipull` and renamed when complete, so an
 * unfinished download never sits under the model's name). Around it, what the downloader does not do:
 *  - a folder that cannot be written, or has too little space, fails before any byte is fetched;
 *  - a stalled transfer fails after `stallMs` without data — the downloader itself retries a
 *    dropped connection forever (measured: a server that drops every response kept it retrying
 *    for as long as it ran), which would leave the progress notification spinning; the request
 *    ends, but that retry loop cannot be stopped (createModelDownloader takes no signal) and goes
 *    on in the engine process until it exits;
 *  - the finished file is checked against the SHA-256 the server declares for it (the `X-Linked-Etag`
 *    or `ETag` of the file URL, as the hub and mirrors of it send for large files) and as a GGUF
 *    (checkModelFile: truncation, header); a file that fails either is deleted, never left under the
 *    model's name.
 * `endpoint` (the `arbitrage.modelMirror` setting) replaces the hub's base URL for `hf:` URIs.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm, statfs } from "node:fs/promises";
import { checkModelFile } from "../engine/model-files.js";
import { ArbitrageError, cancelledError } from "../engine/errors.js";
import { prepareFolder } from "../engine/writable-folder.js";

export interface DownloadJob {
  uri: string;
  dirPath: string;
  /** Base URL that replaces the hub's for `hf:` URIs (a mirror); undefined: node-llama-cpp's default. */
  endpoint?: string;
  /** Fail when no byte arrives for this long (ms). */
  stallMs: number;
  signal: AbortSignal;
  onProgress(downloadedBytes: number, totalBytes: number): void;
}

export const DEFAULT_STALL_MS = 60_000;

function failed(message: string): ArbitrageError {
  return new ArbitrageError("download-failed", message);
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

async function ensureSpace(dirPath: string, needed: number): Promise<void> {
  const fs = await statfs(dirPath);
  const free = fs.bavail * fs.bsize;
  if (needed > free) {
    throw failed(
      `Not enough free space in ${dirPath}: the model needs ${gb(needed)} more, ${gb(free)} are free. Free some space, then run the command again.`,
    );
  }
}

/** The SHA-256 the server declares for the file at `url`, when it declares one. */
async function declaredSha256(url: string, signal: AbortSignal): Promise<string | null> {
  const res = await fetch(url, { method: "HEAD", redirect: "manual", signal }).catch(() => null);
  const tag = res?.headers.get("x-linked-etag") ?? res?.headers.get("etag") ?? "";
  const hex = tag.replace(/^W\//, "").replace(/"/g, "").trim().toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function downloadModel(job: DownloadJob): Promise<string> {
  const { uri, dirPath, endpoint, signal } = job;
  await prepareFolder(dirPath);
  let lastData = Date.now();
  let stalled: ((e: Error) => void) | undefined;
  const stall = new Promise<never>((_, reject) => (stalled = reject));
  const watchdog = setInterval(
    () => {
      if (Date.now() - lastData > job.stallMs) {
        stalled?.(
          failed(
            `The download of ${uri} stalled: no data for ${Math.round(job.stallMs / 1000)} s${endpoint ? ` from ${endpoint}` : ""}. Check the connection${endpoint ? " and the arbitrage.modelMirror setting" : ""}, then run the command again to resume.`,
          ),
        );
      }
    },
    Math.min(1000, job.stallMs / 4),
  );
  const abort = new AbortController();
  signal.addEventListener("abort", () => abort.abort(), { once: true });
  const cancelled = new Promise<never>((_, reject) => abort.signal.addEventListener("abort", () => reject(cancelledError()), { once: true }));
  void stall.catch(() => undefined);
  void cancelled.catch(() => undefined);
  try {
    const { createModelDownloader } = await import("node-llama-cpp");
    const downloader = await Promise.race([
      createModelDownloader({
        modelUri: uri,
        dirPath,
        skipExisting: true,
        // Keep the partial file on cancel so the next attempt resumes it.
        deleteTempFileOnCancel: false,
        ...(endpoint ? { endpoints: { huggingFace: endpoint } } : {}),
        onProgress: ({ totalSize, downloadedSize }) => {
          lastData = Date.now();
          job.onProgress(downloadedSize, totalSize);
        },
      }),
      stall,
      cancelled,
    ]);
    lastData = Date.now();
    await ensureSpace(dirPath, downloader.totalSize - downloader.downloadedSize);
    const path = await Promise.race([downloader.download({ signal: abort.signal }), stall, cancelled]).catch(async (e: unknown) => {
      if (!abort.signal.aborted) abort.abort();
      await downloader.cancel({ deleteTempFile: false }).catch(() => undefined);
      throw e;
    });
    clearInterval(watchdog); // hashing sends no progress
    // Downloads of one file only are verified (split models would need one hash per part).
    const url = (downloader as unknown as { _modelUrl?: unknown })._modelUrl;
    const expected = typeof url === "string" && downloader.totalFiles === 1 ? await declaredSha256(url, abort.signal) : null;
    if (expected !== null) {
      const actual = await sha256Of(path);
      if (actual !== expected) {
        await rm(path, { force: true });
        throw failed(
          `The downloaded file for ${uri} is corrupt: its SHA-256 is ${actual}, the server declares ${expected}. It was deleted; run the command again.`,
        );
      }
    }
    try {
      await checkModelFile(path, "downloaded");
    } catch (e) {
      await rm(path, { force: true });
      throw failed(`The downloaded file for ${uri} is not a usable model (${(e as Error).message}). It was deleted; run the command again.`);
    }
    return path;
  } catch (e) {
    if (e instanceof ArbitrageError) throw e;
    if (abort.signal.aborted) throw cancelledError();
    throw failed(`Download of ${uri} failed: ${e instanceof Error ? e.message : String(e)}. Run the command again to resume.`);
  } finally {
    clearInterval(watchdog);
  }
}
