/**
 * Which `@node-llama-cpp/*` packages carry node-llama-cpp's CUDA backend on this platform, and
 * where "Arbitrage: Install CUDA Support" puts them. Pure (no `vscode`, no node-llama-cpp), so the
 * extension host, the engine server and the tests share one answer.
 *
 * node-llama-cpp 3.22 publishes CUDA prebuilts for linux-x64 and win-x64 only, in two packages
 * (read from its dist/bindings/utils/compileLLamaCpp.js and Llama.js):
 *  - `<platform>-cuda`: the binding and its CUDA backend, linked against the CUDA 13 runtime
 *    (libcudart.so.13, libcublas.so.13); required.
 *  - `<platform>-cuda-ext`: only a `fallback/` CUDA backend linked against the CUDA 12 runtime, which
 *    node-llama-cpp loads when the main one does not load. Optional: without it node-llama-cpp uses
 *    the main package alone.
 * Neither carries the CUDA runtime itself: the user's machine needs the NVIDIA driver and the CUDA
 * runtime libraries of the matching major version.
 */
import { join } from "node:path";

export const BINDING_SCOPE = "@node-llama-cpp";

/** The engine server's environment variable naming the folder it resolves installed bindings from. */
export const EXTRA_BINDINGS_ENV = "ARBITRAGE_EXTRA_BINDINGS";

export interface CudaPackages {
  /** The binding with the CUDA 13 backend, e.g. `@node-llama-cpp/linux-x64-cuda`. */
  main: string;
  /** The CUDA 12 fallback backend, e.g. `@node-llama-cpp/linux-x64-cuda-ext`. */
  fallback: string;
}

/** The CUDA packages node-llama-cpp looks for on this platform, or why there are none. */
export function cudaPackages(platform: NodeJS.Platform = process.platform, arch: string = process.arch): CudaPackages | { problem: string } {
  const os = platform === "linux" ? "linux" : platform === "win32" ? "win" : null;
  if (os === null || arch !== "x64") {
    const hint = platform === "darwin" ? " On macOS node-llama-cpp uses Metal, which needs no install." : "";
    return { problem: `node-llama-cpp publishes its CUDA backend for Linux and Windows on x64 only, not for ${platform}-${arch}.${hint}` };
  }
  return { main: `${BINDING_SCOPE}/${os}-x64-cuda`, fallback: `${BINDING_SCOPE}/${os}-x64-cuda-ext` };
}

/**
 * The folder the engine server resolves extra `@node-llama-cpp/*` packages from
 * (ARBITRAGE_EXTRA_BINDINGS): one per node-llama-cpp version, so a binding installed for another
 * version (before an extension update) is never picked up; `<dir>/@node-llama-cpp/<name>/`.
 */
export function bindingsDir(storageDir: string, nodeLlamaCppVersion: string): string {
  return join(bindingsRoot(storageDir), nodeLlamaCppVersion);
}

/** Where every version's bindings live (what "Remove CUDA Support" deletes). */
export function bindingsRoot(storageDir: string): string {
  return join(storageDir, "bindings");
}

/** `<dir>/@node-llama-cpp/<name>` for a package name `@node-llama-cpp/<name>`. */
export function packageDir(dir: string, packageName: string): string {
  return join(dir, ...packageName.split("/"));
}
