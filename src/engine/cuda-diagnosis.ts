/**
 * Why node-llama-cpp's CUDA backend does not start here, in words a user can act on. node-llama-cpp
 * itself only reports `NoBinaryFoundError` when its CUDA binding fails to load (it tests the binary
 * in a child process and then, with `build: "never"`, has nothing else to try). The usual causes
 * are outside it: the binding is not installed, the NVIDIA driver (libcuda) is missing, or the CUDA
 * runtime libraries of the version the binding was linked against (libcudart/libcublas) are.
 * So: resolve the binding as node-llama-cpp does (through the engine server's resolve hook, so an
 * installed binding is the one examined), then load the driver library and the binding's CUDA
 * backend library, each in a short child process — a library that aborts while loading takes only
 * that process down — and read the system loader's own message, which names the first library it
 * could not find.
 */
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cudaPackages } from "../shared/binding-packages.js";

const INSTALL_HINT = 'run "Arbitrage: Install CUDA Support"';

/** The file of the package's CUDA backend (bins/<folder>/libggml-cuda.so or ggml-cuda.dll), or null. */
async function cudaBackendOf(pkgDir: string): Promise<string | null> {
  const bins = join(pkgDir, "bins");
  for (const folder of await readdir(bins).catch(() => [] as string[])) {
    for (const file of await readdir(join(bins, folder)).catch(() => [] as string[])) {
      if (/^(lib)?ggml-cuda\.(so|dll)$/.test(file)) return join(bins, folder, file);
    }
  }
  return null;
}

/** The system loader's error for `library` (a path, or a bare name the loader searches for), or null when it loads. */
function loaderError(library: string): Promise<string | null> {
  // process.dlopen loads the library (and what it links against) before it looks for a Node addon:
  // a library that loads ends in "did not self-register", which here means "it loads".
  const probe =
    "try { process.dlopen({ exports: {} }, process.argv[1]); } catch (e) { if (!/self-register/.test(e.message)) { console.log(e.message); } }";
  return new Promise((resolve) => {
    execFile(process.execPath, ["-e", probe, library], { env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" }, timeout: 30_000 }, (err, stdout) => {
      const out = stdout.trim();
      if (out) resolve(out.split("\n")[0]!);
      else resolve(err ? `the probe process failed (${err.message.trim()})` : null);
    });
  });
}

/** What the loader's message means for the user. */
function adviceFor(message: string): string {
  if (/libcuda\.so|nvcuda\.dll/i.test(message)) {
    return "the NVIDIA driver is not installed (or there is no NVIDIA GPU): install the NVIDIA driver";
  }
  const runtime = /(?:libcudart\.so\.|libcublas(?:Lt)?\.so\.|cudart64_|cublas(?:Lt)?64_)(\d+)/i.exec(message);
  if (runtime) {
    const major = runtime[1];
    const fallback = major === "13" ? ', or run "Arbitrage: Install CUDA Support" again with the CUDA 12 fallback if CUDA 12 is installed' : "";
    return `the CUDA ${major} runtime libraries are not installed: install the CUDA Toolkit ${major} (or its runtime libraries) and make them findable by the system loader${fallback}`;
  }
  return "a library it needs does not load";
}

/**
 * One sentence: why the CUDA backend cannot start, naming the binding's path. Resolves the binding
 * with `import.meta.resolve`, which goes through the resolve hooks the process registered.
 */
export async function cudaLoadProblem(): Promise<string> {
  const pkgs = cudaPackages();
  if ("problem" in pkgs) return pkgs.problem;
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(pkgs.main));
  } catch {
    return `the CUDA binding ${pkgs.main} is not installed: ${INSTALL_HINT}`;
  }
  // The entry is <package>/dist/index.js.
  const pkgDir = dirname(dirname(entry));
  const backend = await cudaBackendOf(pkgDir);
  if (!backend) return `the CUDA binding at ${pkgDir} has no CUDA backend library (incomplete): ${INSTALL_HINT} again`;
  // The driver first: without it the runtime libraries would not help, and the loader names only the first library it misses.
  const driverError = await loaderError(process.platform === "win32" ? "nvcuda.dll" : "libcuda.so.1");
  if (driverError !== null) return `the CUDA binding at ${pkgDir} is installed, but ${adviceFor(driverError)} (${driverError})`;
  const error = await loaderError(backend);
  if (error === null) {
    return `the CUDA binding at ${pkgDir} and the CUDA libraries load, but CUDA found no usable GPU (check nvidia-smi, and that the driver supports the CUDA version of the binding)`;
  }
  return `the CUDA binding at ${pkgDir} does not load (${error}): ${adviceFor(error)}`;
}
