/**
 * Selecting a pair while models are warm, inside the real extension host and against the real
 * engine process: the pair's three settings change as one, so the engine loads once, the whole
 * new pair — never the mixed pair (new draft, old target) that writing them one by one loads
 * first. Counted by the engine server itself (`arbitrage/status` → `loads`).
 */
import * as assert from "node:assert/strict";
import { join } from "node:path";
import * as vscode from "vscode";
import type { ModelConfig } from "../../src/engine/types.js";
import type { ArbitrageApi } from "../../src/extension/main.js";

const EXTENSION_ID = "arbitrage.arbitrage";
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, fn: () => Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

suite("Selecting a pair (real engine process)", function () {
  let api: ArbitrageApi;
  let root: string;

  suiteSetup(async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not found`);
    api = (await ext.activate()) as ArbitrageApi;
    root = ext.extensionPath;
    await api.controller.settings.update({ threads: THREADS });
  });

  suiteTeardown(async function () {
    await api.controller.settings.update({ draftModel: undefined, targetModel: undefined, router: undefined, threads: undefined });
  });

  test("with warm models, a new pair is one change: one model load, of the whole new pair", async function () {
    const { engine, settings } = api.controller;
    await api.controller.run("Q: 12*7+5", { maxSteps: 4 }, () => undefined, undefined, "api");
    assert.ok(engine.hasLoadedModels, "models are warm before the change");
    const before = await engine.status();
    const changes: ModelConfig[] = [];
    const sub = settings.onDidChangeModels((m) => changes.push(m));
    try {
      // The embedded files by path: another configuration, so the engine must load it.
      const pair = { draft: join(root, "models", "draft.gguf"), target: join(root, "models", "target.gguf"), router: "confidence" };
      await settings.selectPair(pair);
      const expected = settings.snapshot.model;
      assert.deepEqual([expected.draft, expected.target, expected.router], [pair.draft, pair.target, pair.router]);
      // The reload starts on the change; wait until the engine has loaded something and is idle.
      await waitFor(
        "the engine to reload and go idle",
        async () => {
          const st = await engine.status();
          return st.loads > before.loads && !st.loading && st.running === null && st.queued.length === 0;
        },
        60_000,
      );
      await sleep(1500); // room for a second, late reload to show up
      const after = await engine.status();
      assert.equal(after.pid, before.pid, "the same engine process");
      assert.deepEqual(after.loaded, expected, "the engine holds the whole new pair");
      assert.equal(after.loads - before.loads, 1, `${after.loads - before.loads} model loads for one pair change`);
      assert.equal(changes.length, 1, `onDidChangeModels fired ${changes.length} times`);
      assert.deepEqual(changes[0], expected);
    } finally {
      sub.dispose();
    }
  });
});
