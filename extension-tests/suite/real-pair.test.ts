/**
 * `@arbitrage` on the real published pair (models/real-models.json): SmolLM2-135M-Instruct as the
 * draft, Gemma 3 270M as the target, the confidence router. code-server 1.100 has no Chat view, so
 * the registered participant's handler is called with a recording ChatResponseStream, inside the
 * real extension host and through the real engine process. The run it checks against (question,
 * settings, the threshold where both models write, the steps and the answer) is the CLI's on this
 * machine, measured before the tests by extension-tests/lib/real-pair-run.mjs into
 * .test-artifacts/real-pair-run.json: real models' numerics depend on the CPU's kernels.
 */
import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import { chatRequest, recordingChatStream } from "./chat-recorder.js";
import { realModelPath } from "./real-model-path.js";
import type { ArbitrageApi } from "../../src/extension/main.js";

const EXTENSION_ID = "arbitrage.arbitrage";
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);

interface RealRun {
  question: string;
  answer: string;
  settings: Record<string, unknown> & { threshold: number };
  steps: { model: "draft" | "target"; text: string }[];
}

async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration("arbitrage").update(key, value, vscode.ConfigurationTarget.Global);
}

async function waitFor(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

suite("@arbitrage on the real pair (SmolLM2-135M-Instruct → Gemma 3 270M, confidence router)", function () {
  let api: ArbitrageApi;
  let run: RealRun;
  let draft: string;
  let target: string;
  const keys: string[] = [];

  suiteSetup(async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not found`);
    api = (await ext.activate()) as ArbitrageApi;
    const runFile = join(ext.extensionPath, ".test-artifacts", "real-pair-run.json");
    assert.ok(existsSync(runFile), `${runFile} is missing: run "node extension-tests/lib/real-pair-run.mjs" first`);
    run = JSON.parse(readFileSync(runFile, "utf8")) as RealRun;
    draft = realModelPath(ext.extensionPath, "smollm2-135m-instruct");
    target = realModelPath(ext.extensionPath, "gemma3-270m");
    const settings: Record<string, unknown> = {
      ...run.settings,
      threads: THREADS,
      draftModel: draft,
      targetModel: target,
      router: "confidence",
      policy: "arbitrage",
    };
    for (const [k, v] of Object.entries(settings)) {
      keys.push(k);
      await setSetting(k, v);
    }
    const s = api.controller.settings;
    await waitFor(
      "the real pair in the settings",
      () =>
        s.snapshot.model.draft === draft &&
        s.snapshot.model.target === target &&
        s.snapshot.model.router === "confidence" &&
        s.snapshot.options.threshold === run.settings.threshold,
    );
  });

  suiteTeardown(async function () {
    for (const k of keys) await setSetting(k, undefined);
  });

  test("the participant streams steps of both models, each headed by its model and router score, and the final answer", async function () {
    const { stream, parts, progress, buttons } = recordingChatStream();
    const request = chatRequest(run.question);
    const t0 = Date.now();
    const r = (await api.chatHandler(
      request,
      { history: [] } as unknown as vscode.ChatContext,
      stream,
      new vscode.CancellationTokenSource().token,
    )) as vscode.ChatResult;
    const ms = Date.now() - t0;
    assert.equal(r.errorDetails, undefined, JSON.stringify(r.errorDetails));
    const meta = r.metadata as { steps: number; runId: string; finishReason: string };
    const headings = parts.map((p) => (/^(🟧|🟦)/.test(p) ? p.split("\n")[0]! : null)).filter((h): h is string => h !== null);
    console.log(`    real pair chat run: ${ms} ms; ${headings.join(" | ")}`);
    assert.equal(headings.length, meta.steps, "one markdown part per step");
    const byModel = (m: string) => headings.filter((h) => h.includes(`**${m}** · step`)).length;
    assert.ok(byModel("draft") >= 1 && byModel("target") >= 1, `steps of both models expected: ${headings.join(" | ")}`);
    assert.deepEqual(
      headings.map((h) => (h.includes("**target**") ? "target" : "draft")),
      run.steps.map((s) => s.model),
      "the chat shows the engine's run (the CLI's, measured before the tests)",
    );
    for (const h of headings) {
      const m = /\*\*(draft|target)\*\* · step \d+ · router (\d\.\d+) ([<≥]) (\d\.\d+) · \d+ tok · /.exec(h);
      assert.ok(m, `heading names model, router score and threshold: ${h}`);
      // The threshold with its own decimals (src/shared/scores.ts): for the measured thresholds, the digits String() gives.
      assert.equal(m[4], String(run.settings.threshold));
      assert.equal(m[3] === "≥", m[1] === "target", `the target writes exactly the steps whose score reaches the threshold: ${h}`);
    }
    assert.ok(
      progress.some((p) => /Step 1: (draft|target) writing/.test(p)),
      progress.join(" | "),
    );
    const summary = parts.find((p) => p.includes("**Summary:**"));
    assert.ok(summary, "a summary part");
    assert.match(summary, new RegExp(`draft ${byModel("draft")} \\(\\d+%\\), target ${byModel("target")} \\(\\d+%\\)`));
    assert.match(summary, new RegExp(` · answer: ${run.answer}\\n`), `the final answer: ${summary}`);
    assert.equal(buttons[0]?.command, "arbitrage.openPanel");
    // The engine's own result for the run the chat showed.
    const { result } = await api.controller.run(run.question, { promptStyle: "math" }, () => undefined, undefined, "api");
    assert.equal(result.answer, run.answer, "result.answer (extractFinalAnswer) of the same run");
    assert.deepEqual(
      result.steps.map((s) => s.model),
      headings.map((h) => (h.includes("**target**") ? "target" : "draft")),
      "greedy: the same steps again",
    );
  });
});
