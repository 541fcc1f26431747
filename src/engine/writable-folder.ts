/**
 * The check every download runs before it fetches a byte: the folder it writes into exists
 * (created if needed) and takes a file. Shared by the model downloads (src/server/download.ts, in
 * the engine process) and the CUDA binding install (src/bindings/install.ts, in the extension host),
 * so a read-only or missing storage folder gives the same clear error, naming the path, in both.
 */
import { mkdir, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ArbitrageError } from "./errors.js";

/** The folder exists (created if needed) and a file can be written in it; else `download-failed` naming it. */
export async function prepareFolder(dirPath: string, what = "download folder"): Promise<void> {
  const probe = join(dirPath, `.arbitrage-write-test-${process.pid}`);
  try {
    await mkdir(dirPath, { recursive: true });
    await writeFile(probe, "");
    await unlink(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new ArbitrageError(
      "download-failed",
      `Cannot write to the ${what} ${dirPath} (${code}: ${(e as Error).message}). Free it up or make it writable, then run the command again.`,
    );
  }
}
