/**
 * "Arbitrage: Install CUDA Support" and "Remove CUDA Support" inside the real extension host,
 * against a stand-in npm registry on 127.0.0.1 serving the REAL `npm pack` tarball of
 * node-llama-cpp's CUDA binding (arbitrage.npmRegistry points at it): the command installs it into
 * the extension's global storage, the restarted engine process resolves it from there and, with no
 * NVIDIA driver on these machines, refuses gpu "cuda" naming the installed binding and the cause. A
 * tarball that fails its published integrity leaves the installed binding in use and untouched.
 */
import * as assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import { packageDir } from "../../src/shared/binding-packages.js";
import type { CudaInstallOutcome } from "../../src/extension/cuda.js";
import type { ArbitrageApi } from "../../src/extension/main.js";
import { packedPackage, startNpmRegistry, type NpmRegistry } from "../lib/npm-registry.mjs";

const EXTENSION_ID = "arbitrage.arbitrage";
const CUDA = "@node-llama-cpp/linux-x64-cuda";
const ARMV7L = "@node-llama-cpp/linux-armv7l";
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);

suite("Install CUDA Support (real extension host, local registry)", function () {
  let api: ArbitrageApi;
  let root: string;
  const registries: NpmRegistry[] = [];
  const config = () => vscode.workspace.getConfiguration("arbitrage");

  async function useRegistry(...packages: Parameters<typeof startNpmRegistry>[0]): Promise<NpmRegistry> {
    const r = await startNpmRegistry(packages);
    registries.push(r);
    await config().update("npmRegistry", r.url, vscode.ConfigurationTarget.Global);
    return r;
  }

  suiteSetup(async function () {
    if (process.platform !== "linux" || process.arch !== "x64") this.skip();
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not found`);
    api = (await ext.activate()) as ArbitrageApi;
    root = ext.extensionPath;
    await api.controller.settings.update({ threads: THREADS });
  });

  suiteTeardown(async function () {
    if (!api) return;
    await config().update("npmRegistry", undefined, vscode.ConfigurationTarget.Global);
    await api.controller.settings.update({ threads: undefined });
    await vscode.commands.executeCommand("arbitrage.removeCuda");
    await api.controller.engine.stop();
    await Promise.all(registries.map((r) => r.close()));
  });

  test("installs the real CUDA tarball into global storage; the engine resolves it from there and names why CUDA cannot start", async function () {
    const cuda = packedPackage(root, CUDA);
    const reg = await useRegistry({ name: CUDA, version: cuda.version, tgz: cuda.file });
    const { cuda: where, engine, settings } = api.controller;
    assert.ok(where.bindingsDir.startsWith(where.storageDir), `${where.bindingsDir} is in the extension's global storage`);
    const outcome = (await vscode.commands.executeCommand("arbitrage.installCuda", { fallback: false })) as CudaInstallOutcome;
    const target = packageDir(where.bindingsDir, CUDA);
    assert.deepEqual(outcome, { status: "installed", packages: [{ name: CUDA, version: where.version, path: target, bytes: cuda.bytes }] });
    assert.ok(existsSync(join(target, "bins", "linux-x64-cuda", "llama-addon.node")));
    assert.equal(reg.log.length, 2, "the package document and the tarball");
    // The engine process (restarted by the command) loads with gpu "cuda": node-llama-cpp's import resolves to the installed copy.
    await assert.rejects(engine.ensureLoaded({ ...settings.snapshot.model, gpu: "cuda" }, undefined, false), (e: Error) => {
      assert.ok(
        e.message.startsWith(`The CUDA backend cannot run here: the CUDA binding at ${target} is installed, but the NVIDIA driver is not installed`),
        e.message,
      );
      return true;
    });
  });

  test("a tarball that fails the published integrity is refused; the installed binding is untouched", async function () {
    const { cuda: where } = api.controller;
    const addon = join(packageDir(where.bindingsDir, CUDA), "bins", "linux-x64-cuda", "llama-addon.node");
    const before = statSync(addon);
    const armv7l = packedPackage(root, ARMV7L);
    await useRegistry({ name: CUDA, version: where.version, tgz: armv7l.file, integrity: `sha512-${Buffer.alloc(64, 1).toString("base64")}` });
    const outcome = (await vscode.commands.executeCommand("arbitrage.installCuda", { fallback: false })) as CudaInstallOutcome;
    assert.equal(outcome.status, "failed");
    assert.match((outcome as { message: string }).message, /does not match the integrity the registry publishes .* nothing was installed/);
    const after = statSync(addon);
    assert.deepEqual([after.ino, after.size, after.mtimeMs], [before.ino, before.size, before.mtimeMs]);
  });

  test("an invalid arbitrage.npmRegistry is named, and nothing is fetched", async function () {
    await config().update("npmRegistry", "not a url", vscode.ConfigurationTarget.Global);
    const outcome = (await vscode.commands.executeCommand("arbitrage.installCuda", { fallback: false })) as CudaInstallOutcome;
    assert.deepEqual(outcome, {
      status: "failed",
      message:
        'Invalid arbitrage.npmRegistry "not a url": use the http(s) base URL of your npm registry (e.g. https://npm.example.com/), or leave it empty.',
    });
  });

  test("Remove CUDA Support deletes the installed binding; the engine no longer finds it there", async function () {
    const { cuda: where, engine, settings } = api.controller;
    const result = await vscode.commands.executeCommand("arbitrage.removeCuda");
    assert.deepEqual(result, { removed: true });
    assert.equal(existsSync(where.bindingsDir), false);
    // The restarted engine resolves the binding as before the install (the repository's node_modules, or none in a VSIX).
    await assert.rejects(engine.ensureLoaded({ ...settings.snapshot.model, gpu: "cuda" }, undefined, false), (e: Error) => {
      assert.ok(!e.message.includes(where.bindingsDir), e.message);
      return true;
    });
  });
});
