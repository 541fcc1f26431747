import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { ArbitrageEngine, type ReasonResult } from "../../src/engine/index.js";
import { texts } from "../engine/helpers.js";
import { GEMMA, REAL_CONFIG, REAL_OPTIONS, SMOL } from "../real/helpers.js";
import { startLlamaServer, type RunningServer } from "./helpers.js";

/**
 * A real published model (Gemma 3 270M Q4_K_M, the real pair's target) on a real llama-server,
 * against the same model run here: quantized kernels, F16 KV cache, node-llama-cpp's defaults on
 * one side and llama-server's on the other. And the CLI with --target-url, as a user runs it.
 */

const QUESTIONS = ["What is 12+7?", "Tom has 3 apples and buys 5 more. How many apples does he have now?", "What is 6 times 7?"];
const BIN = resolve(import.meta.dirname, "../../bin/arbitrage.mjs");

describe("remote real target: Gemma 3 270M on llama-server", () => {
  let server: RunningServer;
  let local: ArbitrageEngine;
  let remote: ArbitrageEngine;

  before(async () => {
    server = await startLlamaServer(GEMMA(), { contextSize: REAL_CONFIG.contextSize });
    const pair = { ...REAL_CONFIG, draft: SMOL(), target: GEMMA(), router: "confidence" };
    local = await ArbitrageEngine.create(pair);
    remote = await ArbitrageEngine.create({ ...pair, remote: { target: { url: server.url } } });
  });
  after(async () => {
    await Promise.all([local?.dispose(), remote?.dispose()]);
    await server?.stop();
  });

  test("greedy target steps equal the local target's, and arbitrage at thresholds 0 and 1 behaves as with local models", async () => {
    for (const q of QUESTIONS.slice(0, 2)) {
      const here: ReasonResult = await local.reason(q, { ...REAL_OPTIONS, policy: "target" });
      const there = await remote.reason(q, { ...REAL_OPTIONS, policy: "target" });
      assert.deepEqual(texts(there), texts(here), q);
      const atZero = await remote.reason(q, { ...REAL_OPTIONS, threshold: 0 });
      assert.deepEqual(texts(atZero), texts(here), `${q}: threshold 0 is the target`);
      const atOne = await remote.reason(q, { ...REAL_OPTIONS, threshold: 1 });
      const draft = await local.reason(q, { ...REAL_OPTIONS, policy: "draft" });
      assert.deepEqual(texts(atOne), texts(draft), `${q}: threshold 1 is the draft`);
      assert.equal(atOne.stats.remote?.target?.calls ?? 0, 0);
    }
  });

  test("the CLI: --target-url runs the target there; --json carries the remote stats, the summary names them", () => {
    const args = [
      BIN,
      "reason",
      "--draft",
      SMOL(),
      "--target",
      GEMMA(),
      "--target-url",
      server.url,
      "--router",
      "confidence",
      "--threads",
      "1",
      "--context-size",
      "512",
      "--max-steps",
      "3",
      "--max-tokens-per-step",
      "40",
      "--policy",
      "target",
    ];
    const env = { ...process.env, NO_COLOR: "1", ARBITRAGE_API_KEY: "secret-key-never-printed" };
    const json = spawnSync(process.execPath, [...args, "--json", QUESTIONS[0]!], { encoding: "utf8", timeout: 120_000, env });
    assert.equal(json.status, 0, json.stderr);
    const r = JSON.parse(json.stdout) as ReasonResult;
    assert.equal(r.stats.remote!.target!.url, server.url);
    // One call per step, plus the one whose step was past the end of the answer (Gemma's invented next "Question:").
    assert.equal(r.stats.remote!.target!.perCall.length, r.stats.remote!.target!.calls);
    assert.ok(r.stats.remote!.target!.calls >= r.steps.length && r.stats.remote!.target!.calls <= r.steps.length + 1);
    const plain = spawnSync(process.execPath, [...args, QUESTIONS[0]!], { encoding: "utf8", timeout: 120_000, env });
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(
      plain.stdout,
      new RegExp(
        `remote target ${server.url}: ${r.stats.remote!.target!.calls} calls, [0-9.]+ ms/call, prompt tokens \\d+ sent, \\d+ processed by the server`,
      ),
    );
    assert.doesNotMatch(json.stdout + plain.stdout + json.stderr + plain.stderr, /secret-key-never-printed/);
  });
});
