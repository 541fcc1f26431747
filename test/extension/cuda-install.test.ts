// "Install CUDA Support" on real parts: src/bindings/install.ts against a stand-in npm registry on
// 127.0.0.1 (node:http, extension-tests/lib/npm-registry.mjs) serving the REAL tarballs of the
// packages in node_modules (`npm pack`, cached in ~/.cache/arbitrage/npm-pack/), into real
// folders; then the real engine server (dist/server.mjs, forked as the extension forks it) resolves
// the installed CUDA binding from there. Failure cases use the small real linux-armv7l tarball.
// Run: npm run build && node --import tsx --test test/extension/cuda-install.test.ts
import assert from "node:assert/strict";
import { execFileSync, fork } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { deadRegistryUrl, integrityOf, packedPackage, startNpmRegistry, type NpmRegistry } from "../../extension-tests/lib/npm-registry.mjs";
import {
  installBindings,
  installedVersion,
  nodeLlamaCppVersion,
  removeBindings,
  sha512Of,
  type InstallJob,
  type InstallProgress,
} from "../../src/bindings/install.js";
import { bindingsDir, bindingsRoot, cudaPackages, EXTRA_BINDINGS_ENV, packageDir } from "../../src/shared/binding-packages.js";
import { npmRegistryUrl } from "../../src/bindings/registry.js";
import { isArbitrageError } from "../../src/engine/errors.js";
import { defaultModelConfig } from "../../src/engine/options.js";

const root = join(import.meta.dirname, "..", "..");
const CUDA = "@node-llama-cpp/linux-x64-cuda";
const ARMV7L = "@node-llama-cpp/linux-armv7l";
const version = nodeLlamaCppVersion(root);
const scratch = mkdtempSync(join(tmpdir(), "arbitrage-cuda-"));
const registries: NpmRegistry[] = [];
after(async () => {
  await Promise.all(registries.map((r) => r.close()));
  rmSync(scratch, { recursive: true, force: true });
});

async function registry(...packages: Parameters<typeof startNpmRegistry>[0]): Promise<NpmRegistry> {
  const r = await startNpmRegistry(packages);
  registries.push(r);
  return r;
}

function job(reg: string, dir: string, extra: Partial<InstallJob> = {}): InstallJob {
  return { registry: reg, packages: [CUDA], version, dir, signal: new AbortController().signal, ...extra };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the install to fail");
}

const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
/** The installed package's files with their sizes and inodes: equal before and after = untouched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        out[p.slice(dir.length)] = `${st.size}:${st.ino}`;
      }
    }
  };
  walk(dir);
  return out;
}

const armv7l = packedPackage(root, ARMV7L);

test("the CUDA packages for this platform, and where they go", () => {
  assert.deepEqual(cudaPackages("linux", "x64"), { main: CUDA, fallback: `${CUDA}-ext` });
  assert.deepEqual(cudaPackages("win32", "x64"), { main: "@node-llama-cpp/win-x64-cuda", fallback: "@node-llama-cpp/win-x64-cuda-ext" });
  assert.match(
    (cudaPackages("darwin", "arm64") as { problem: string }).problem,
    /Linux and Windows on x64 only, not for darwin-arm64\. On macOS node-llama-cpp uses Metal/,
  );
  assert.match((cudaPackages("linux", "arm64") as { problem: string }).problem, /not for linux-arm64\.$/);
  assert.equal(bindingsDir("/s", "3.22.1"), join("/s", "bindings", "3.22.1"));
  assert.equal(packageDir("/d", CUDA), join("/d", "@node-llama-cpp", "linux-x64-cuda"));
  assert.equal(version, JSON.parse(readFileSync(join(root, "node_modules/node-llama-cpp/package.json"), "utf8")).version);
  assert.equal(sha512Of("sha1-abc sha512-xyz=="), "xyz==");
  assert.equal(sha512Of("sha1-abc"), null);
});

test("the registry URL: the setting (normalised), else npm's configuration, else a clear error", async () => {
  assert.equal(await npmRegistryUrl("http://127.0.0.1:4873"), "http://127.0.0.1:4873/");
  await assert.rejects(
    npmRegistryUrl("ftp://x/"),
    /^ArbitrageError: Invalid arbitrage\.npmRegistry "ftp:\/\/x\/": use the http\(s\) base URL of your npm registry/,
  );
  await assert.rejects(
    npmRegistryUrl("", { ...process.env, PATH: scratch }),
    /^ArbitrageError: No npm registry to download the CUDA binding from: arbitrage\.npmRegistry is empty and npm is not on PATH\. Set arbitrage\.npmRegistry/,
  );
  // The user's own npm (this machine's configuration; whatever it is, a base URL ending with "/").
  assert.match(await npmRegistryUrl(""), /^https?:\/\/.+\/$/);
});

test("install: the real CUDA tarball, verified and unpacked into place; the engine server resolves the binding from there and says why CUDA does not start", async () => {
  const cuda = packedPackage(root, CUDA);
  const reg = await registry({ name: CUDA, version, tgz: cuda.file });
  const storage = join(scratch, "storage");
  const dir = bindingsDir(storage, version);
  // A leftover of an install whose process died (pid far above any live one) goes; nothing else is touched.
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ".partial-2147483000-dead.tgz"), "partial");
  const progress: InstallProgress[] = [];
  const installed = await installBindings(job(reg.url, dir, { onProgress: (p) => progress.push(p) }));
  const target = packageDir(dir, CUDA);
  assert.deepEqual(installed, [{ name: CUDA, version, path: target, bytes: cuda.bytes }]);
  assert.deepEqual(entries(dir), ["@node-llama-cpp"], "only the package, no temporary files");
  assert.equal(await installedVersion(dir, CUDA), version);
  // The same files as the package npm installed.
  const original = join(root, "node_modules", CUDA);
  for (const f of ["bins/linux-x64-cuda/llama-addon.node", "bins/linux-x64-cuda/libggml-cuda.so", "dist/index.js", "package.json"]) {
    assert.equal(statSync(join(target, f)).size, statSync(join(original, f)).size, f);
  }
  assert.ok(progress.length > 2);
  assert.ok(progress.every((p, i) => p.totalBytes === cuda.bytes && (i === 0 || p.receivedBytes >= progress[i - 1]!.receivedBytes)));
  assert.equal(progress.at(-1)!.receivedBytes, cuda.bytes);
  assert.deepEqual(
    reg.log.map((l) => l.path),
    [`/${CUDA.replace("/", "%2f")}`, `/-/${cuda.file.split("/").at(-1)}`],
  );

  // The real engine server, forked as the extension forks it, with the folder in its environment.
  const serverPath = join(root, "dist", "server.mjs");
  assert.ok(existsSync(serverPath), "dist/server.mjs is missing: run `npm run build` first");
  const child = fork(serverPath, ["--node-ipc"], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    execArgv: [],
    env: { ...process.env, [EXTRA_BINDINGS_ENV]: dir },
  });
  const logs: string[] = [];
  const replies = new Map<number, (m: { result?: unknown; error?: { message: string; data?: { code: string } } }) => void>();
  child.on("message", (m: { id?: number; method?: string; params?: { message: string } }) => {
    if (m.method === "arbitrage/log") logs.push(m.params!.message);
    else if (typeof m.id === "number") replies.get(m.id)?.(m as never);
  });
  let nextId = 1;
  const request = (method: string, params: unknown) =>
    new Promise<{ result?: unknown; error?: { message: string; data?: { code: string } } }>((resolve) => {
      const id = nextId++;
      replies.set(id, resolve);
      child.send({ jsonrpc: "2.0", id, method, params });
    });
  try {
    await request("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
    child.send({ jsonrpc: "2.0", method: "initialized", params: {} });
    const r = await request("arbitrage/load", { config: { ...defaultModelConfig(), gpu: "cuda", threads: 1 } });
    assert.ok(
      logs.some((l) => l.includes(`extra bindings from ${dir}`)),
      logs.join("\n"),
    );
    assert.ok(
      logs.includes(`binding ${CUDA} resolved from ${join(target, "dist", "index.js")}`),
      `node-llama-cpp's import of ${CUDA} went to the installed copy; engine log:\n${logs.join("\n")}`,
    );
    // No NVIDIA driver on these machines: the load fails, naming the installed binding and the cause.
    assert.equal(r.error?.data?.code, "gpu-unavailable", JSON.stringify(r));
    assert.match(
      r.error!.message,
      new RegExp(
        `^The CUDA backend cannot run here: the CUDA binding at ${target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is installed, but the NVIDIA driver is not installed \\(or there is no NVIDIA GPU\\): install the NVIDIA driver \\(libcuda\\.so\\.1: cannot open shared object file`,
      ),
    );
  } finally {
    child.kill("SIGKILL");
  }
});

test("install: a tarball that does not match the published integrity is deleted; the installed binding stays as it was", async () => {
  const dir = bindingsDir(join(scratch, "storage"), version);
  const before = snapshot(packageDir(dir, CUDA));
  assert.ok(Object.keys(before).length > 20, "the previous test installed the binding");
  const reg = await registry({ name: CUDA, version, tgz: armv7l.file, integrity: `sha512-${Buffer.alloc(64, 7).toString("base64")}` });
  const e = await failure(installBindings(job(reg.url, dir)));
  assert.ok(isArbitrageError(e, "download-failed"), String(e));
  assert.match(
    e.message,
    /^The download of @node-llama-cpp\/linux-x64-cuda@3\.\d+\.\d+ from http:\/\/127\.0\.0\.1:\d+\/-\/\S+ does not match the integrity the registry publishes \(sha512-.{12}…, published sha512-BwcHBwcHBwcH…\)\. It was deleted and nothing was installed/,
  );
  assert.deepEqual(snapshot(packageDir(dir, CUDA)), before);
  assert.deepEqual(entries(dir), ["@node-llama-cpp"]);
});

test("install: a verified tarball holding another package is refused; the installed binding stays as it was", async () => {
  const dir = bindingsDir(join(scratch, "storage"), version);
  const before = snapshot(packageDir(dir, CUDA));
  const reg = await registry({ name: CUDA, version, tgz: armv7l.file });
  const e = await failure(installBindings(job(reg.url, dir)));
  assert.match(e.message, new RegExp(`^The tarball published as ${CUDA}@${version} holds ${ARMV7L}@${version}\\. Nothing was installed\\.$`));
  assert.deepEqual(snapshot(packageDir(dir, CUDA)), before);
  assert.deepEqual(entries(dir), ["@node-llama-cpp"]);
});

test("install: cancelled mid-download leaves nothing behind", async () => {
  const dir = bindingsDir(join(scratch, "cancel"), version);
  const reg = await registry({ name: CUDA, version, tgz: armv7l.file, stallAfterBytes: 1 << 20 });
  const abort = new AbortController();
  let received = 0;
  const e = await failure(
    installBindings(
      job(reg.url, dir, {
        signal: abort.signal,
        onProgress: (p) => {
          received = p.receivedBytes;
          if (p.receivedBytes > 0) abort.abort();
        },
      }),
    ),
  );
  assert.ok(isArbitrageError(e, "cancelled"), String(e));
  assert.ok(received > 0 && received < armv7l.bytes, `cancelled part-way (${received} of ${armv7l.bytes} bytes)`);
  assert.deepEqual(entries(dir), []);
});

test("install: a transfer that stalls fails after the stall timeout, leaving nothing", async () => {
  const dir = bindingsDir(join(scratch, "stall"), version);
  const reg = await registry({ name: CUDA, version, tgz: armv7l.file, stallAfterBytes: 1 << 16 });
  const e = await failure(installBindings(job(reg.url, dir, { stallMs: 1000 })));
  assert.match(
    e.message,
    /^The download of http:\/\/127\.0\.0\.1:\d+\/-\/\S+ stalled: no data for 1 s\. Check the connection and the arbitrage\.npmRegistry setting/,
  );
  assert.deepEqual(entries(dir), []);
});

test("install: a registry that is not there (connection refused) fails naming the URL", async () => {
  const dir = bindingsDir(join(scratch, "offline"), version);
  const url = await deadRegistryUrl();
  const e = await failure(installBindings(job(url, dir)));
  assert.ok(isArbitrageError(e, "download-failed"));
  assert.equal(
    e.message,
    `Cannot reach the npm registry at ${url}@node-llama-cpp%2flinux-x64-cuda (ECONNREFUSED). Check the connection and the arbitrage.npmRegistry setting, then run the command again.`,
  );
  assert.deepEqual(entries(dir), []);
});

test("install: a registry without the bundled node-llama-cpp's version says which versions it has", async () => {
  const dir = bindingsDir(join(scratch, "version"), version);
  const reg = await registry({ name: CUDA, version: "3.0.0", tgz: armv7l.file });
  const e = await failure(installBindings(job(reg.url, dir)));
  assert.match(
    e.message,
    new RegExp(
      `has no version ${version.replace(/\./g, "\\.")} of ${CUDA} \\(the bundled node-llama-cpp's version, the only one it loads\\); its latest: 3\\.0\\.0\\.$`,
    ),
  );
  assert.deepEqual(entries(dir), []);
});

test("install: storage that cannot be written fails with its path before anything is fetched", async () => {
  // Root writes through permission bits, so as root the storage is on a read-only file system.
  let storage = "/sys/kernel";
  if (process.getuid?.() !== 0) {
    storage = join(scratch, "read-only");
    mkdirSync(storage);
    chmodSync(storage, 0o500);
  }
  const dir = bindingsDir(storage, version);
  const reg = await registry({ name: CUDA, version, tgz: armv7l.file });
  const e = await failure(installBindings(job(reg.url, dir)));
  assert.ok(isArbitrageError(e, "download-failed"));
  assert.match(e.message, new RegExp(`^Cannot write to the CUDA binding folder ${dir} \\((EACCES|EPERM|EROFS):`));
  assert.deepEqual(reg.log, [], "nothing was fetched");
});

test("remove: the bindings folder goes as a whole; removing again finds nothing", async () => {
  const storage = join(scratch, "storage");
  assert.equal(await installedVersion(bindingsDir(storage, version), CUDA), version);
  assert.equal(await removeBindings(bindingsRoot(storage)), true);
  assert.deepEqual(entries(storage), []);
  assert.equal(await removeBindings(bindingsRoot(storage)), false);
  assert.equal(await installedVersion(bindingsDir(storage, version), CUDA), null);
});

test("the stand-in registry publishes the integrity npm computes for the tarball", async () => {
  // What a real registry publishes as dist.integrity is npm's own figure at publish time.
  const [{ integrity }] = JSON.parse(
    execFileSync("npm", ["pack", "--dry-run", "--json", join(root, "node_modules", ARMV7L)], { encoding: "utf8" }),
  ) as [{ integrity: string }];
  assert.equal(await integrityOf(armv7l.file), integrity);
});
