/**
 * A test-only companion extension (built into dist/extension-tests/hooks-extension/, which no
 * VSIX contains; e2e.test.mjs loads it as a second extensionDevelopmentPath). Its one command
 * streams hostile step texts into the real Arbitrage panel through the API Arbitrage's
 * `activate` returns — the same host mirror -> postMessage -> webview renderer path engine
 * events take — so the product itself carries no test hook.
 */
import * as vscode from "vscode";
import type { StepRecord } from "../../src/engine/types.js";
import type { ArbitrageApi } from "../../src/extension/main.js";
import { HOSTILE_STEP_TEXTS } from "../lib/hostile-steps.js";

export const HOOK_QUESTION = "Injected step texts (test hook)";
export const HOOK_PAIR = "test hook";

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("arbitrageTests.injectHostileSteps", async () => {
      const api = (await vscode.extensions.getExtension<ArbitrageApi>("arbitrage.arbitrage")!.activate()) as ArbitrageApi;
      return inject(api, HOSTILE_STEP_TEXTS);
    }),
  );
}

function inject(api: ArbitrageApi, texts: readonly string[]): string {
  const panel = api.controller.showPanel(true);
  const runId = `hook-${Date.now().toString(36)}`;
  const threshold = api.controller.settings.snapshot.options.threshold;
  panel.startRun({ runId, question: HOOK_QUESTION, policy: "arbitrage", threshold, pair: HOOK_PAIR, startedAt: Date.now() });
  const steps: StepRecord[] = [];
  texts.forEach((text, index) => {
    const model = index % 2 === 0 ? "draft" : "target";
    panel.event(runId, { type: "step-started", index, model });
    for (let i = 0; i < text.length; i += 4096) panel.event(runId, { type: "token", index, model, text: text.slice(i, i + 4096) });
    const step: StepRecord = {
      index,
      text,
      model,
      routerScore: model === "target" ? 0.8 : 0.2,
      tokens: text.length,
      draftTokensDiscarded: 0,
      targetTokensReused: 0,
      endedBy: "delimiter",
      ms: 1,
      draftMs: 1,
      targetMs: model === "target" ? 1 : 0,
      routerMs: 0,
    };
    steps.push(step);
    panel.event(runId, { type: "step-decided", step });
  });
  const count = (m: "draft" | "target") => steps.filter((s) => s.model === m).length;
  const tokens = (m: "draft" | "target") => steps.filter((s) => s.model === m).reduce((a, s) => a + s.tokens, 0);
  const meter = { generated: 0, evaluated: 0, committed: 0, ms: 0, discarded: 0 };
  panel.event(runId, {
    type: "finished",
    result: {
      question: HOOK_QUESTION,
      policy: "arbitrage",
      threshold,
      steps,
      text: texts.join(""),
      answer: null,
      finishReason: "eos",
      stats: {
        steps: steps.length,
        stepsByModel: { draft: count("draft"), target: count("target") },
        tokensByModel: { draft: tokens("draft"), target: tokens("target") },
        draftTokensDiscarded: 0,
        targetTokensDiscarded: 0,
        targetTokensReused: 0,
        targetVerifyWasted: 0,
        verification: { rounds: 0, proposed: 0, accepted: 0, freshProposed: 0, freshAccepted: 0 },
        routerCalls: steps.length,
        routerMs: 0,
        scorerCalls: 0,
        scorerMs: 0,
        meters: { draft: meter, target: meter },
        wallMs: 1,
        overheadMs: 0,
      },
    },
  });
  return runId;
}
