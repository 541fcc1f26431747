/**
 * Installing node-llama-cpp prebuilt packages (`@node-llama-cpp/*-cuda`) from an npm registry into
 * a folder the engine server resolves them from (ARBITRAGE_EXTRA_BINDINGS, see
 * src/server/extra-bindings.ts), for "Arbitrage: Install CUDA Support". No `vscode` import: the
 * command (src/extension/cuda.ts) drives it, the tests run it on real files and a real HTTP server.
 *
 * Per package, in this order, so a failure at any point leaves the previous state in use:
 *  1. the folder takes a file (prepareFolder: read-only storage fails before any byte is fetched);
 *  2. the registry's package document gives the tarball of exactly the bundled node-llama-cpp's
 *     version and its published `dist.integrity` (sha512; a package without one is refused);
 *  3. the tarball is downloaded to a temporary file, hashed as it arrives, with progress, cancel and
 *     a stall timeout; a hash different from the published one deletes it, nothing is unpacked;
 *  4. it is unpacked (the `tar` package, node-llama-cpp's own dependency through cmake-js, bundled
 *     into the extension) into a temporary folder beside the target and checked to be the package
 *     and version asked for;
 *  5. it is renamed into place (`<dir>/@node-llama-cpp/<name>`); an installed copy is first renamed
 *     aside and deleted only after the new one is in place. Renames within one folder are atomic,
 *     so the engine sees the old package or the new one, never a half-unpacked one.
 * Temporary names start with "." and carry the installing process's id; leftovers of a process
 * that died (VS Code killed mid-download) are deleted by the next install.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { x as untar } from "tar";
import { ArbitrageError, cancelledError } from "../engine/errors.js";
import { prepareFolder } from "../engine/writable-folder.js";
import { packageDir } from "../shared/binding-packages.js";
import { REGISTRY_SETTING } from "./registry.js";

export const DEFAULT_INSTALL_STALL_MS = 60_000;

export interface InstallProgress {
  packageName: string;
  receivedBytes: number;
  /** From the tarball's Content-Length; null when the server sends none. */
  totalBytes: number | null;
}

export interface InstallJob {
  /** The npm registry's base URL, ending with "/" (npmRegistryUrl). */
  registry: string;
  /** Full package names, e.g. ["@node-llama-cpp/linux-x64-cuda"]; installed in this order. */
  packages: readonly string[];
  /** The version to install: the bundled node-llama-cpp's (it refuses a binding of another version). */
  version: string;
  /** The folder the packages go into (bindingsDir). */
  dir: string;
  signal: AbortSignal;
  /** Fail when no byte arrives for this long (ms). */
  stallMs?: number;
  onProgress?(p: InstallProgress): void;
  /**
   * Called before a verified package replaces what is installed: the engine process must let go of
   * an installed binding first (Windows cannot rename a folder whose DLLs a process has loaded).
   */
  beforeReplace?(): Promise<void>;
}

export interface InstalledPackage {
  name: string;
  version: string;
  path: string;
  bytes: number;
}

function failed(message: string): ArbitrageError {
  return new ArbitrageError("download-failed", message);
}

/** The reason a fetch() rejected: Node puts the socket error (ECONNREFUSED, ENOTFOUND…) in `cause`. */
function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

/** The npm registry's document URL for a (scoped) package name. */
export function packumentUrl(registry: string, name: string): string {
  return `${registry}${name.replace("/", "%2f")}`;
}

/** The base64 sha512 digest of an SRI string ("sha512-<base64>", possibly among others), or null. */
export function sha512Of(integrity: unknown): string | null {
  if (typeof integrity !== "string") return null;
  const sri = integrity.split(/\s+/).find((s) => s.startsWith("sha512-"));
  return sri ? sri.slice("sha512-".length) : null;
}

interface Published {
  tarball: string;
  sha512: string;
}

/** The tarball URL and published sha512 of `name@version`, from the registry's package document. */
async function published(registry: string, name: string, version: string, signal: AbortSignal): Promise<Published> {
  const url = packumentUrl(registry, name);
  let res: Response;
  try {
    // The abbreviated document (what npm itself asks for): versions and their dist fields only.
    res = await fetch(url, { headers: { accept: "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8" }, signal });
  } catch (e) {
    if (signal.aborted) throw cancelledError();
    throw failed(
      `Cannot reach the npm registry at ${url} (${causeOf(e)}). Check the connection and the ${REGISTRY_SETTING} setting, then run the command again.`,
    );
  }
  if (res.status === 404) {
    throw failed(`The npm registry ${registry} has no package ${name} (${url} answered 404). Check the ${REGISTRY_SETTING} setting.`);
  }
  if (!res.ok)
    throw failed(
      `The npm registry answered ${res.status} ${res.statusText} for ${url}. Check the ${REGISTRY_SETTING} setting, then run the command again.`,
    );
  let doc: { versions?: Record<string, { dist?: { tarball?: unknown; integrity?: unknown } }> };
  try {
    doc = (await res.json()) as typeof doc;
  } catch (e) {
    if (signal.aborted) throw cancelledError();
    throw failed(`${url} did not answer with an npm package document (${(e as Error).message}). Check the ${REGISTRY_SETTING} setting.`);
  }
  const entry = doc?.versions?.[version];
  if (!entry) {
    const known = Object.keys(doc?.versions ?? {}).slice(-5);
    throw failed(
      `The npm registry ${registry} has no version ${version} of ${name} (the bundled node-llama-cpp's version, the only one it loads)${known.length ? `; its latest: ${known.join(", ")}` : ""}.`,
    );
  }
  const sha512 = sha512Of(entry.dist?.integrity);
  if (typeof entry.dist?.tarball !== "string" || sha512 === null) {
    throw failed(
      `The npm registry ${registry} publishes no tarball with a sha512 integrity for ${name}@${version}: it cannot be verified, so it is not installed.`,
    );
  }
  return { tarball: new URL(entry.dist.tarball, url).href, sha512 };
}

/** Downloads `url` to `dest` (a new file), hashing it; resolves with its base64 sha512 and size. */
async function download(
  url: string,
  dest: string,
  job: InstallJob,
  onBytes: (received: number, total: number | null) => void,
): Promise<{ sha512: string; bytes: number }> {
  const stallMs = job.stallMs ?? DEFAULT_INSTALL_STALL_MS;
  const abort = new AbortController();
  const onCancel = () => abort.abort();
  job.signal.addEventListener("abort", onCancel, { once: true });
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const armStallTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      abort.abort();
    }, stallMs);
  };
  const hash = createHash("sha512");
  let received = 0;
  try {
    armStallTimer();
    const res = await fetch(url, { signal: abort.signal });
    if (!res.ok || !res.body)
      throw failed(`The download of ${url} failed: the server answered ${res.status} ${res.statusText}. Run the command again.`);
    const total = Number(res.headers.get("content-length")) || null;
    onBytes(0, total);
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          armStallTimer();
          hash.update(chunk);
          received += chunk.length;
          onBytes(received, total);
          yield chunk;
        }
      },
      createWriteStream(dest, { flags: "wx" }),
      { signal: abort.signal },
    );
  } catch (e) {
    if (stalled) {
      throw failed(
        `The download of ${url} stalled: no data for ${Math.round(stallMs / 1000)} s. Check the connection and the ${REGISTRY_SETTING} setting, then run the command again.`,
      );
    }
    if (job.signal.aborted) throw cancelledError();
    if (e instanceof ArbitrageError) throw e;
    throw failed(`The download of ${url} failed after ${received} bytes (${causeOf(e)}). Run the command again.`);
  } finally {
    clearTimeout(timer);
    job.signal.removeEventListener("abort", onCancel);
  }
  return { sha512: hash.digest("base64"), bytes: received };
}

/** Unpacks an npm tarball's `package/` into `into` and checks it is `name@version`; returns the package folder. */
async function unpack(tgz: string, into: string, name: string, version: string): Promise<string> {
  await mkdir(into);
  try {
    // tar refuses absolute paths and `..` by default; ownership is never taken from the archive.
    await untar({ file: tgz, cwd: into, strict: true, preserveOwner: false, filter: (p) => p === "package" || p.startsWith("package/") });
  } catch (e) {
    throw failed(`The tarball of ${name}@${version} cannot be unpacked (${(e as Error).message}). Nothing was installed; run the command again.`);
  }
  const pkgDir = join(into, "package");
  const manifest = await readFile(join(pkgDir, "package.json"), "utf8")
    .then((t) => JSON.parse(t) as { name?: unknown; version?: unknown })
    .catch(() => null);
  if (manifest?.name !== name || manifest?.version !== version) {
    throw failed(
      `The tarball published as ${name}@${version} holds ${manifest ? `${String(manifest.name)}@${String(manifest.version)}` : "no package.json"}. Nothing was installed.`,
    );
  }
  return pkgDir;
}

/** Moves `from` to `to`, replacing what is there: the old copy is renamed aside first and deleted last. */
async function swapInto(from: string, to: string, aside: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  let movedAside = false;
  try {
    await rename(to, aside);
    movedAside = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  try {
    await rename(from, to);
  } catch (e) {
    if (movedAside) await rename(aside, to).catch(() => undefined);
    throw e;
  }
  if (movedAside) await rm(aside, { recursive: true, force: true });
}

const TEMP = /^\.(partial|staging|old)-(\d+)-/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes temporary files of installs whose process is gone (a concurrent install's are kept). */
async function removeLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP.exec(name);
    if (m && Number(m[2]) !== process.pid && !alive(Number(m[2]))) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/** Installs each package (see the module comment); resolves with what was installed. */
export async function installBindings(job: InstallJob): Promise<InstalledPackage[]> {
  const { dir, version, signal } = job;
  await prepareFolder(dir, "CUDA binding folder");
  await removeLeftovers(dir);
  const installed: InstalledPackage[] = [];
  for (const name of job.packages) {
    if (signal.aborted) throw cancelledError();
    const { tarball, sha512 } = await published(job.registry, name, version, signal);
    const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
    const tgz = join(dir, `.partial-${tag}.tgz`);
    const staging = join(dir, `.staging-${tag}`);
    try {
      const got = await download(tarball, tgz, job, (receivedBytes, totalBytes) =>
        job.onProgress?.({ packageName: name, receivedBytes, totalBytes }),
      );
      if (got.sha512 !== sha512) {
        throw failed(
          `The download of ${name}@${version} from ${tarball} does not match the integrity the registry publishes (sha512-${got.sha512.slice(0, 12)}…, published sha512-${sha512.slice(0, 12)}…). It was deleted and nothing was installed; run the command again.`,
        );
      }
      if (signal.aborted) throw cancelledError();
      const pkg = await unpack(tgz, staging, name, version);
      const target = packageDir(dir, name);
      await job.beforeReplace?.();
      try {
        await swapInto(pkg, target, join(dir, `.old-${tag}`));
      } catch (e) {
        throw failed(`Cannot move ${name} into ${target} (${causeOf(e)}). The previous state is unchanged; run the command again.`);
      }
      installed.push({ name, version, path: target, bytes: got.bytes });
    } finally {
      await rm(tgz, { force: true });
      await rm(staging, { recursive: true, force: true });
    }
  }
  return installed;
}

/** The version of `name` installed in `dir`, or null. */
export async function installedVersion(dir: string, name: string): Promise<string | null> {
  try {
    const manifest = JSON.parse(await readFile(join(packageDir(dir, name), "package.json"), "utf8")) as { version?: unknown };
    return typeof manifest.version === "string" ? manifest.version : null;
  } catch {
    return null;
  }
}

/**
 * Deletes a bindings folder (every version's, bindingsRoot): renamed aside first, so the engine never
 * resolves from a half-deleted one. Resolves with whether there was one.
 */
export async function removeBindings(root: string): Promise<boolean> {
  const aside = `${root}.removing-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(root, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw failed(`Cannot remove the CUDA binding folder ${root} (${causeOf(e)}). Make it writable, then run the command again.`);
  }
  await rm(aside, { recursive: true, force: true });
  return true;
}

/** The version of node-llama-cpp shipped with the extension (or the repository) at `root`. */
export function nodeLlamaCppVersion(root: string): string {
  const path = join(root, "node_modules", "node-llama-cpp", "package.json");
  try {
    const v = (JSON.parse(readFileSync(path, "utf8")) as { version?: unknown }).version;
    if (typeof v === "string") return v;
  } catch {
    /* reported below */
  }
  throw new ArbitrageError(
    "internal",
    `Cannot read the bundled node-llama-cpp's version from ${path}: the extension's installation is incomplete. Reinstall it.`,
  );
}
