import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import path from "node:path";
import { getLlama, getLlamaGpuTypes, type Llama } from "node-llama-cpp";
import { EXTRA_BINDINGS_ENV, packageDir } from "../shared/binding-packages.js";
import { cudaLoadProblem } from "./cuda-diagnosis.js";
import { ArbitrageError } from "./errors.js";
import type { BackendAttempt, GpuBackend, GpuChoice } from "./types.js";

/**
 * Which llama.cpp backend the engine runs on, and why. node-llama-cpp's own `gpu: "auto"` with
 * `build: "never"` tries the backends whose system libraries it detects and silently takes the
 * CPU binding when none loads; the reason (binding not installed, no driver, no device) is lost.
 * Here every GPU backend is diagnosed on its own, so that a fallback to the CPU names its cause.
 */

type GpuBackendName = Exclude<GpuBackend, "cpu">;

const PRETTY: Record<GpuBackendName, string> = { cuda: "CUDA", vulkan: "Vulkan", metal: "Metal" };

/** node-llama-cpp's prebuilt binding package for a backend on this platform, or null when it publishes none. */
export function bindingPackageName(backend: GpuBackendName, platform = process.platform, arch = process.arch): string | null {
  if (backend === "metal") return platform === "darwin" && arch === "arm64" ? "@node-llama-cpp/mac-arm64-metal" : null;
  // CUDA and Vulkan bindings exist for x64 Linux and Windows only (node-llama-cpp 3.22's prebuilt packages).
  const os = platform === "linux" ? "linux" : platform === "win32" ? "win" : null;
  return os !== null && arch === "x64" ? `@node-llama-cpp/${os}-x64-${backend}` : null;
}

/**
 * Whether the binding package is installed where node-llama-cpp looks for it: its own node_modules,
 * or the folder of ARBITRAGE_EXTRA_BINDINGS ("Install CUDA Support"; the engine server's resolve
 * hook, src/server/extra-bindings-hook.ts, sends node-llama-cpp's import there).
 */
export function bindingInstalled(packageName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const extra = env[EXTRA_BINDINGS_ENV];
  if (extra && existsSync(path.join(packageDir(extra, packageName), "package.json"))) return true;
  try {
    // Resolved from node-llama-cpp's own location, as its `import("@node-llama-cpp/...")` does.
    createRequire(import.meta.resolve("node-llama-cpp")).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a backend's system libraries are absent (node-llama-cpp's detection found none), in words.
 * CUDA with the NVIDIA driver present: the runtime is what is missing, and cuda-diagnosis.ts names
 * its version (it loads libraries in child processes, so only on machines with the driver).
 */
async function missingLibraryReason(backend: GpuBackendName): Promise<string> {
  if (backend === "cuda") {
    return hasNvidiaDriver() ? await cudaLoadProblem() : "no NVIDIA driver was found (libcuda, libnvidia-ml); install the NVIDIA driver";
  }
  if (backend === "vulkan") {
    const lib = process.platform === "win32" ? "vulkan-1.dll" : "libvulkan.so.1";
    return `the Vulkan loader (${lib}) is not installed: no GPU driver here provides Vulkan; install your GPU's driver with its Vulkan support`;
  }
  return "Metal runs only on Apple silicon Macs";
}

/** The NVIDIA driver's libraries, where node-llama-cpp's own detection looks for them (file checks; nothing is loaded). */
export function hasNvidiaDriver(env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform === "win32") {
    const windir = env.SystemRoot ?? env.windir ?? "C:\\Windows";
    return existsSync(path.join(windir, "System32", "nvml.dll"));
  }
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? "").split(path.delimiter),
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/wsl/lib",
  ].filter((d) => d !== "");
  return dirs.some((d) => ["libcuda.so.1", "libcuda.so", "libnvidia-ml.so.1"].some((f) => existsSync(path.join(d, f))));
}

function bindingMissingReason(backend: GpuBackendName, packageName: string): string {
  const fix =
    backend === "cuda"
      ? 'run "Arbitrage: Install CUDA Support" in VS Code, or `npm install ' + packageName + "` next to node-llama-cpp"
      : "install the Arbitrage VSIX that carries it (the default per-platform one), or `npm install " + packageName + "` next to node-llama-cpp";
  return `the ${PRETTY[backend]} binding (${packageName}) is not installed; ${fix}`;
}

/**
 * Every context is created with `threads` (runtime.ts); `maxThreads` is node-llama-cpp's budget
 * for all contexts together, and an evaluation waits while the budget is used up. A budget of
 * `threads` would serialise the draft and the judge when the next draft step is written while
 * the current one is judged (draft-lookahead.ts), so the budget is the machine's cores: two
 * one-thread contexts then run side by side on a 2-core machine, and on a larger one
 * node-llama-cpp splits the cores between the contexts that run at once.
 */
function threadBudget(threads: number): number {
  return Math.max(threads, availableParallelism());
}

function options(gpu: GpuBackendName | false, threads: number) {
  return { gpu, build: "never", maxThreads: threadBudget(threads), logLevel: "error" as never, progressLogs: false } as const;
}

/** node-llama-cpp's GPU backends for this platform, best first (CUDA before Vulkan; Metal on Apple silicon). */
async function gpuBackendsForPlatform(): Promise<GpuBackendName[]> {
  return (await getLlamaGpuTypes("allValid")).filter((g): g is GpuBackendName => g !== false);
}

export interface BackendSelection {
  llama: Llama;
  backend: GpuBackend;
  attempts: BackendAttempt[];
  /** Why the engine runs on the CPU although a GPU was allowed (gpu "auto"); null otherwise. */
  fallbackReason: string | null;
}

/**
 * Tries one GPU backend: checks its binding and system libraries first (cheap file checks), then
 * loads it with `build: "never"` and checks that it sees a device. Returns the Llama when it
 * loaded with a device, else the attempt saying why not.
 */
async function tryBackend(
  backend: GpuBackendName,
  threads: number,
  detected: ReadonlySet<string>,
): Promise<{ llama: Llama | null; attempt: BackendAttempt }> {
  const packageName = bindingPackageName(backend);
  if (packageName === null)
    return {
      llama: null,
      attempt: {
        backend,
        outcome: "unsupported-platform",
        reason: `node-llama-cpp publishes no ${PRETTY[backend]} binding for ${process.platform}-${process.arch}`,
      },
    };
  // The driver first: without one, installing the binding would change nothing.
  if (!detected.has(backend)) return { llama: null, attempt: { backend, outcome: "library-missing", reason: await missingLibraryReason(backend) } };
  if (!bindingInstalled(packageName))
    return { llama: null, attempt: { backend, outcome: "binding-missing", reason: bindingMissingReason(backend, packageName) } };
  let llama: Llama;
  try {
    llama = await getLlama(options(backend, threads));
  } catch (e) {
    // Binding and libraries are there: node-llama-cpp's self-test of the binding (a child process) failed,
    // and its message says little. For CUDA, cuda-diagnosis.ts finds which library does not load (a
    // runtime of another major version, say) or that CUDA saw no GPU.
    if (backend === "cuda") {
      const reason = await cudaLoadProblem();
      return { llama: null, attempt: { backend, outcome: /found no usable GPU/.test(reason) ? "no-device" : "library-missing", reason } };
    }
    // For Vulkan it is what a loader without a usable device gives (the binding reports no GPU).
    const detail = (e as Error).message && (e as Error).message !== "NoBinaryFoundError" ? ` (${(e as Error).message})` : "";
    return {
      llama: null,
      attempt: {
        backend,
        outcome: "no-device",
        reason: `the ${PRETTY[backend]} binding is installed and its libraries are present, but it found no usable ${PRETTY[backend]} device${detail}; check that the GPU driver is installed and the GPU visible to this process`,
      },
    };
  }
  const devices = await llama.getGpuDeviceNames().catch(() => [] as string[]);
  if (llama.gpu === false || devices.length === 0) {
    await llama.dispose();
    return {
      llama: null,
      attempt: { backend, outcome: "no-device", reason: `the ${PRETTY[backend]} binding loaded but found no ${PRETTY[backend]} device` },
    };
  }
  return { llama, attempt: { backend, outcome: "loaded", reason: `${PRETTY[backend]} on ${devices.join(", ")}` } };
}

async function cpuLlama(threads: number): Promise<Llama> {
  try {
    return await getLlama(options(false, threads));
  } catch (e) {
    throw new ArbitrageError(
      "model-load-failed",
      `Cannot start llama.cpp on the CPU: ${(e as Error).message}. node-llama-cpp's prebuilt CPU binding for ${process.platform}-${process.arch} is missing; reinstall the extension (or run \`npm ci\`).`,
    );
  }
}

/** The fallback notice: one sentence for people, naming each GPU backend's reason. */
export function fallbackNotice(attempts: readonly BackendAttempt[]): string {
  const reasons = attempts.filter((a) => a.outcome !== "unsupported-platform").map((a) => `${PRETTY[a.backend]}: ${a.reason}`);
  return reasons.length === 0
    ? "No GPU backend exists for this platform; running on the CPU."
    : `No GPU backend loaded, running on the CPU. ${reasons.join(". ")}.`;
}

/**
 * Picks the backend for a `gpu` choice. "auto": the best GPU backend that loads with a device,
 * else the CPU with a notice naming why. An explicit backend that cannot load is an error that
 * names what is missing and what to do ("cpu" and "auto" never fail for a GPU reason).
 */
export async function selectBackend(gpu: GpuChoice, threads: number): Promise<BackendSelection> {
  if (gpu === "cpu") return { llama: await cpuLlama(threads), backend: "cpu", attempts: [], fallbackReason: null };
  const detected = new Set((await getLlamaGpuTypes("supported")).filter((g) => g !== false));
  const candidates = gpu === "auto" ? await gpuBackendsForPlatform() : [gpu];
  const attempts: BackendAttempt[] = [];
  for (const backend of candidates) {
    const { llama, attempt } = await tryBackend(backend, threads, detected);
    attempts.push(attempt);
    if (llama) return { llama, backend, attempts, fallbackReason: null };
  }
  if (gpu !== "auto") {
    // Asked for CUDA by name: cuda-diagnosis.ts also names the binding it examined (an installed
    // "Install CUDA Support" copy) and the library that does not load; worth its child processes here.
    const reason = gpu === "cuda" ? await cudaLoadProblem() : attempts[0]!.reason;
    throw new ArbitrageError(
      "gpu-unavailable",
      `The ${PRETTY[gpu]} backend cannot run here: ${reason}. Or set arbitrage.gpu (--gpu) to "auto" to fall back to the CPU.`,
    );
  }
  return { llama: await cpuLlama(threads), backend: "cpu", attempts, fallbackReason: fallbackNotice(attempts) };
}
