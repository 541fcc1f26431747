/**
 * Integration tests inside the real extension host (code-server's Node extension host here,
 * desktop VS Code elsewhere). Everything runs for real: the extension's commands, the engine
 * server process forked over IPC, node-llama-cpp and the embedded demo models. Nothing mocked.
 */
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { chatRequest, recordingChatStream } from "./chat-recorder.js";
import type { EngineEvent, ReasonResult } from "../../src/engine/types.js";
import type { ArbitrageApi } from "../../src/extension/main.js";
import type { HostToWebview } from "../../src/protocol/index.js";
import { escapeChatMarkdown } from "../../src/extension/chat.js";
import { defaultReasonOptions } from "../../src/engine/options.js";
import { HOSTILE_STEP_TEXTS } from "../lib/hostile-steps.js";
import { writeAbortingGguf } from "../lib/gguf-abort.js";
import { startModelMirror } from "../lib/model-mirror.mjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const EXTENSION_ID = "arbitrage.arbitrage";
const QUESTION = "Q: 12*7+5";
const LONG_QUESTION = "Q: 98*76+54*32-10*9+87";
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);

let api: ArbitrageApi;
const overridden: string[] = [];
let referenceRun: Promise<ReasonResult> | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration("arbitrage").update(key, value, vscode.ConfigurationTarget.Global);
}

function run(
  question: string,
  overrides: Record<string, unknown> = {},
  onEvent: (e: EngineEvent) => void = () => undefined,
  token?: vscode.CancellationToken,
) {
  return api.controller.run(question, overrides, onEvent, token, "api");
}

/**
 * The greedy output for QUESTION with the suite's settings, which several tests compare against.
 * Each test that needs it asks for it (the first asker runs it), so every test sets up its own
 * state and any one of them runs alone (ARBITRAGE_TEST_GREP).
 */
function reference(): Promise<ReasonResult> {
  referenceRun ??= run(QUESTION, { maxSteps: 24 }).then((r) => r.result);
  return referenceRun;
}

/** Resolves once the engine emits its first token event, then calls `act`. */
function onFirstToken(act: () => void): (e: EngineEvent) => void {
  let fired = false;
  return (e) => {
    if (!fired && e.type === "token") {
      fired = true;
      act();
    }
  };
}

suite("Arbitrage extension (real extension host)", function () {
  suiteSetup(async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not found`);
    api = (await ext.activate()) as ArbitrageApi;
    await setSetting("threads", THREADS);
    // ARBITRAGE_TEST_SETTINGS (JSON, keys without "arbitrage.") overrides settings while debugging.
    for (const [k, v] of Object.entries(JSON.parse(process.env.ARBITRAGE_TEST_SETTINGS ?? "{}") as Record<string, unknown>)) {
      overridden.push(k);
      await setSetting(k, v);
    }
  });

  suiteTeardown(async function () {
    for (const k of ["threads", "threshold", "draftModel", "targetModel", "router", "modelMirror", "contextSize", "policy", ...overridden])
      await setSetting(k, undefined);
  });

  test("activation is lazy: no engine process, no models", function () {
    assert.equal(api.controller.engine.running, false);
    assert.equal(api.controller.engine.pid, undefined);
  });

  test("all commands are registered", async function () {
    const all = await vscode.commands.getCommands(true);
    for (const c of [
      "arbitrage.reason",
      "arbitrage.reasonOnSelection",
      "arbitrage.selectModels",
      "arbitrage.downloadModels",
      "arbitrage.stop",
      "arbitrage.showLog",
      "arbitrage.openPanel",
      "arbitrage.installCuda",
      "arbitrage.removeCuda",
    ]) {
      assert.ok(all.includes(c), `${c} not registered`);
    }
  });

  test("language model provider registration is guarded by API availability", function () {
    const available = typeof (vscode.lm as unknown as Record<string, unknown>).registerLanguageModelChatProvider === "function";
    assert.equal(api.languageModelProviderRegistered, available);
  });

  test("invalid settings are rejected with a clear message and the previous valid value stays", async function () {
    const s = api.controller.settings;
    const draftBefore = s.snapshot.model.draft;
    await setSetting("threshold", 0.7);
    await waitFor("threshold 0.7", () => s.snapshot.options.threshold === 0.7);
    await setSetting("threshold", 5);
    const p = await waitFor("a threshold problem", () => s.lastProblems.find((x) => x.setting === "arbitrage.threshold"));
    assert.match(p.message, /threshold/);
    assert.match(p.message, /0 to 1/);
    assert.equal(s.snapshot.options.threshold, 0.7, "previous valid threshold kept");
    await setSetting("draftModel", "relative/model.gguf");
    const p2 = await waitFor("a draftModel problem", () => s.lastProblems.find((x) => x.setting === "arbitrage.draftModel"));
    assert.match(p2.message, /absolute/);
    assert.equal(s.snapshot.model.draft, draftBefore, "previous valid draft model kept");
    await setSetting("draftModel", overridden.includes("draftModel") ? JSON.parse(process.env.ARBITRAGE_TEST_SETTINGS!).draftModel : undefined);
    await setSetting("threshold", undefined);
    await waitFor("problems cleared", () => s.lastProblems.length === 0 && s.snapshot.options.threshold === defaultReasonOptions().threshold);
  });

  test("a reason request through the real engine process returns routed steps", async function () {
    const events: EngineEvent[] = [];
    const { result } = await run(QUESTION, { maxSteps: 24 }, (e) => events.push(e));
    referenceRun ??= Promise.resolve(result);
    assert.ok(result.steps.length > 0, "no steps");
    for (const step of result.steps) {
      assert.ok(step.model === "draft" || step.model === "target");
      assert.equal(typeof step.routerScore, "number", "arbitrage policy scores every step with the router");
      assert.ok(step.tokens > 0 || step.text.length === 0);
    }
    assert.equal(events.filter((e) => e.type === "step-decided").length, result.steps.length);
    assert.ok(
      events.some((e) => e.type === "token"),
      "tokens streamed",
    );
    const pid = api.controller.engine.pid;
    assert.ok(pid && pid !== process.pid, "the engine runs in its own process");
    const st = await api.controller.engine.status();
    assert.deepEqual(st.loaded, api.controller.settings.snapshot.model);
  });

  test("the backend is visible: the load's GPU report is in the status bar tooltip and the run's stats (CPU here, with the reason)", async function () {
    const { result } = await run(QUESTION, { maxSteps: 24 });
    const gpu = api.controller.gpu;
    assert.ok(gpu, "the controller heard the load's GPU report");
    assert.deepEqual(result.stats.gpu, gpu, "the run's stats carry the report of the load");
    // These machines have no GPU: gpu "auto" falls back to the CPU and says why.
    assert.equal(gpu.backend, "cpu");
    assert.match(gpu.fallbackReason ?? "", /^No GPU backend loaded, running on the CPU\. CUDA: .*Vulkan: /);
    const tooltip = String(api.controller.statusBar.tooltip);
    assert.ok(tooltip.includes("Backend: CPU (no GPU backend loaded)"), tooltip);
    assert.ok(tooltip.includes(gpu.fallbackReason!), tooltip);
  });

  test("routing follows the threshold: 0 sends every step to the target", async function () {
    const { result } = await run(QUESTION, { maxSteps: 24, threshold: 0 });
    assert.ok(result.steps.length > 0);
    assert.ok(
      result.steps.every((s) => s.model === "target"),
      JSON.stringify(result.steps.map((s) => s.model)),
    );
  });

  test("the Reason command streams into the webview panel", async function () {
    const expected = await reference();
    // Open the panel first and record what the host posts to its webview (the real webview's
    // postMessage, wrapped here: the product keeps no record of its messages).
    await vscode.commands.executeCommand("arbitrage.openPanel");
    const webview = api.controller.panel!.panel.webview;
    const posted: HostToWebview[] = [];
    const post = webview.postMessage.bind(webview);
    webview.postMessage = (m: HostToWebview) => {
      posted.push(m);
      return post(m);
    };
    const result = (await vscode.commands.executeCommand("arbitrage.reason", QUESTION)) as ReasonResult | undefined;
    assert.ok(result, "command returned no result");
    const panel = api.controller.panel;
    assert.ok(panel, "panel open");
    assert.equal(panel.panel.webview, webview, "the run went into the panel that was open");
    await Promise.race([panel.ready, sleep(30_000).then(() => assert.fail("webview never sent ready"))]);
    assert.equal(panel.state.steps.length, result.steps.length);
    assert.equal(panel.state.result?.text, result.text);
    const kinds = new Set<string>(posted.map((m) => (m.type === "engine-event" ? m.event.type : m.type)));
    for (const k of ["run-started", "step-decided", "token", "finished"]) assert.ok(kinds.has(k), `panel never got ${k}`);
    const decided = posted.flatMap((m) => (m.type === "engine-event" && m.event.type === "step-decided" ? [m.event.step.text] : []));
    assert.deepEqual(
      decided,
      result.steps.map((s) => s.text),
      "every committed step was posted to the webview, in order",
    );
    assert.equal(result.text, expected.text, "same question, same greedy output");
  });

  test("cancellation stops a running request within 2 s, and the next request matches a fresh run", async function () {
    const expected = await reference();
    const cts = new vscode.CancellationTokenSource();
    let cancelledAt = 0;
    const p = run(
      LONG_QUESTION,
      { policy: "target", maxSteps: 200 },
      onFirstToken(() => {
        cancelledAt = Date.now();
        cts.cancel();
      }),
      cts.token,
    );
    let outcome: string;
    try {
      const { result } = await p;
      outcome = result.finishReason;
    } catch (e) {
      outcome = (e as { code?: string }).code ?? String(e);
    }
    assert.ok(cancelledAt > 0, "never streamed a token");
    assert.ok(Date.now() - cancelledAt < 2000, `cancel took ${Date.now() - cancelledAt} ms`);
    assert.equal(outcome, "cancelled");
    const { result } = await run(QUESTION, { maxSteps: 24 });
    assert.equal(result.text, expected.text);
  });

  test("two requests at once (chat-like and command-like) both complete with their own output", async function () {
    const expected = await reference();
    const other = "Q: 7+8*2";
    const solo = (await run(other, { maxSteps: 24 })).result;
    const [a, b] = await Promise.all([run(QUESTION, { maxSteps: 24 }), run(other, { maxSteps: 24 })]);
    assert.equal(a.result.text, expected.text);
    assert.equal(b.result.text, solo.text);
  });

  test("model paths are machine-scoped: workspace settings cannot redirect the engine", async function () {
    const before = api.controller.settings.snapshot.model.draft;
    const cfg = () => vscode.workspace.getConfiguration("arbitrage");
    let outcome = "written";
    try {
      await cfg().update("draftModel", "/tmp/evil.gguf", vscode.ConfigurationTarget.Workspace);
    } catch (e) {
      outcome = `rejected: ${e instanceof Error ? e.message : String(e)}`;
    }
    await sleep(300);
    assert.notEqual(cfg().get("draftModel"), "/tmp/evil.gguf", `effective value redirected (${outcome})`);
    assert.equal(api.controller.settings.snapshot.model.draft, before);
    if (outcome === "written") await cfg().update("draftModel", undefined, vscode.ConfigurationTarget.Workspace);
  });

  test("the Stop command cancels the running request", async function () {
    let stoppedAt = 0;
    const p = run(
      LONG_QUESTION,
      { policy: "target", maxSteps: 200 },
      onFirstToken(() => {
        stoppedAt = Date.now();
        void vscode.commands.executeCommand("arbitrage.stop");
      }),
    );
    let outcome: string;
    try {
      outcome = (await p).result.finishReason;
    } catch (e) {
      outcome = (e as { code?: string }).code ?? String(e);
    }
    assert.equal(outcome, "cancelled");
    assert.ok(Date.now() - stoppedAt < 2000);
  });

  test("the chat participant streams steps into the response stream", async function () {
    const { stream, parts, progress, buttons } = recordingChatStream();
    const request = chatRequest(QUESTION);
    const cts = new vscode.CancellationTokenSource();
    const r = (await api.chatHandler(request, { history: [] } as unknown as vscode.ChatContext, stream, cts.token)) as vscode.ChatResult;
    assert.equal(r.errorDetails, undefined, JSON.stringify(r.errorDetails));
    const meta = r.metadata as { steps: number; runId: string };
    const stepParts = parts.filter((p) => /\*\*(draft|target)\*\* · step \d+/.test(p));
    assert.equal(stepParts.length, meta.steps, "one markdown part per step, each naming its model");
    assert.ok(parts.some((p) => p.includes("**Summary:**")));
    assert.ok(progress.length > 0, "progress reported");
    assert.equal(buttons[0]?.command, "arbitrage.openPanel");
    assert.deepEqual(buttons[0]?.arguments, [meta.runId]);
    // The button opens the panel with that run.
    await vscode.commands.executeCommand("arbitrage.openPanel", meta.runId);
    assert.equal(api.controller.panel?.state.run?.runId, meta.runId);
  });

  test("the chat participant honours cancellation", async function () {
    const parts: string[] = [];
    const cts = new vscode.CancellationTokenSource();
    const stream = {
      markdown: (v: string | vscode.MarkdownString) => parts.push(typeof v === "string" ? v : v.value),
      progress: (v: string) => {
        if (/Step 1:/.test(v)) cts.cancel();
      },
      button: () => undefined,
    } as unknown as vscode.ChatResponseStream;
    const request = { prompt: LONG_QUESTION, command: undefined, references: [], toolReferences: [] } as unknown as vscode.ChatRequest;
    const t0 = Date.now();
    const r = (await api.chatHandler(request, { history: [] } as unknown as vscode.ChatContext, stream, cts.token)) as vscode.ChatResult;
    assert.ok(Date.now() - t0 < 60_000);
    assert.equal(r.errorDetails, undefined);
    assert.ok(
      parts.some((p) => p.includes("Stopped after")),
      parts.join("|"),
    );
  });

  test("chat markdown escapes hostile model text", function () {
    for (const text of HOSTILE_STEP_TEXTS) {
      const out = escapeChatMarkdown(text);
      assert.ok(!/[<>]/.test(out), "no raw angle brackets");
      assert.ok(!/(^|[^\\])[[\]()`*_!$]/.test(out), `unescaped markdown punctuation in ${out.slice(0, 80)}`);
      assert.ok(!/javascript:/i.test(out), "no live javascript: scheme");
    }
  });

  test("the language model provider streams the answer text", async function () {
    const expected = await reference();
    const token = new vscode.CancellationTokenSource().token;
    if (api.languageModelProviderRegistered) {
      // VS Code >= 1.104: through VS Code's own language model API, to the provider registered with it.
      const models = await vscode.lm.selectChatModels({ vendor: "arbitrage" });
      assert.equal(models.length, 1, "one Arbitrage model offered by VS Code");
      assert.equal(models[0]!.name, "Arbitrage (draft→target)");
      const response = await models[0]!.sendRequest([vscode.LanguageModelChatMessage.User(QUESTION)], {}, token);
      let text = "";
      for await (const chunk of response.text) text += chunk;
      assert.equal(text, expected.text);
      return;
    }
    // VS Code 1.100 (code-server 4.100.3) has no provider API: the provider activate() returns is the
    // one object activate() would register (main.ts creates it once), so the test drives that one.
    const reported: string[] = [];
    const lm = api.languageModelProvider;
    const info = lm.provideLanguageModelChatInformation({ silent: true }, token);
    assert.equal(info.length, 1);
    assert.equal(info[0]!.name, "Arbitrage (draft→target)");
    assert.equal(info[0]!.maxInputTokens, api.controller.contextSize);
    await lm.provideLanguageModelChatResponse(
      info[0]!,
      [
        { role: 2, content: [new vscode.LanguageModelTextPart("an earlier assistant turn")] },
        { role: 1, content: [new vscode.LanguageModelTextPart(QUESTION)] },
      ],
      {},
      { report: (p: vscode.LanguageModelTextPart) => reported.push(p.value) },
      token,
    );
    assert.equal(reported.join(""), expected.text, "the last user message is answered, step by step");
  });

  test("engine crash (SIGKILL mid-answer): request fails fast with the cause, engine restarts, next request matches a fresh run", async function () {
    const expected = await reference();
    const engine = api.controller.engine;
    const crashes = engine.crashCount;
    let killedAt = 0;
    let pid: number | undefined;
    const p = run(
      LONG_QUESTION,
      { policy: "target", maxSteps: 200 },
      onFirstToken(() => {
        pid = engine.pid;
        killedAt = Date.now();
        process.kill(pid!, "SIGKILL");
      }),
    );
    let err: { code?: string; message?: string } | undefined;
    try {
      await p;
    } catch (e) {
      err = e as { code?: string; message?: string };
    }
    const failedAfter = Date.now() - killedAt;
    assert.ok(killedAt > 0, "never streamed a token");
    assert.equal(err?.code, "engine-crashed", JSON.stringify(err));
    assert.match(err?.message ?? "", /SIGKILL/);
    assert.ok(failedAfter < 2000, `failed after ${failedAfter} ms`);
    assert.equal(engine.crashCount, crashes + 1);
    const { result } = await run(QUESTION, { maxSteps: 24 });
    assert.equal(result.text, expected.text);
    assert.notEqual(engine.pid, pid, "a new engine process");
  });

  test("a native abort (SIGABRT) of the engine is reported with a hint about the model, and the engine recovers", async function () {
    const expected = await reference();
    const engine = api.controller.engine;
    const messages: string[] = [];
    const sub = engine.onCrash(({ message }) => messages.push(message));
    // The next request is issued the moment the first one fails, before the client has restarted the engine.
    let err: { code?: string; message?: string } | undefined;
    const next = run(
      LONG_QUESTION,
      { policy: "target", maxSteps: 200 },
      onFirstToken(() => process.kill(engine.pid!, "SIGABRT")),
    ).then(
      () => assert.fail("the request survived SIGABRT"),
      (e) => {
        err = e as { code?: string; message?: string };
        return run(QUESTION, { maxSteps: 24 });
      },
    );
    const { result } = await next;
    sub.dispose();
    assert.equal(err?.code, "engine-crashed");
    assert.match(err?.message ?? "", /SIGABRT/);
    assert.equal(messages.length, 1, "the user-facing crash message fired once");
    assert.equal(result.text, expected.text);
  });

  test("a model file llama.cpp cannot evaluate is refused with a message naming the file; the previous models keep working", async function () {
    const expected = await reference();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const srcModel =
      api.controller.settings.snapshot.model.draft === "embedded"
        ? join(ext.extensionPath, "models", "draft.gguf")
        : api.controller.settings.snapshot.model.draft;
    const bad = writeAbortingGguf(srcModel, join(tmpdir(), `arb-f64-${process.pid}.gguf`));
    const crashes = api.controller.engine.crashCount;
    const before = api.controller.settings.snapshot.model.draft;
    await setSetting("draftModel", bad);
    await waitFor("the bad draft model in the settings", () => api.controller.settings.snapshot.model.draft === bad);
    const err = await run(QUESTION, { maxSteps: 4 }).then(
      () => undefined,
      (e) => e as { code?: string; message?: string },
    );
    assert.ok(err, "the request must fail");
    // The engine reads every tensor type before llama.cpp opens the file (src/engine/model-files.ts):
    // F64 is refused as model-corrupt. engine-crashed would mean llama.cpp got the file and aborted;
    // model-load-failed that llama.cpp refused it itself: either is the check failing.
    assert.equal(err.code, "model-corrupt", err.message);
    assert.ok((err.message ?? "").includes(bad), err.message);
    assert.match(err.message ?? "", /has type .*which llama\.cpp cannot evaluate/);
    assert.equal(api.controller.engine.crashCount, crashes, "the engine process did not crash");
    await setSetting("draftModel", overridden.includes("draftModel") ? before : undefined);
    await waitFor("draft model restored", () => api.controller.settings.snapshot.model.draft === before);
    const { result } = await run(QUESTION, { maxSteps: 24 });
    assert.equal(result.text, expected.text);
  });

  test("changing a model setting reloads warm models right away", async function () {
    await api.controller.engine.ensureLoaded(api.controller.settings.snapshot.model);
    assert.ok(api.controller.engine.hasLoadedModels, "models are warm before the change");
    await setSetting("contextSize", 1024);
    await waitFor("contextSize 1024", () => api.controller.settings.snapshot.model.contextSize === 1024);
    await waitFor(
      "the engine to reload with contextSize 1024",
      async () => (await api.controller.engine.status()).loaded?.contextSize === 1024,
      30_000,
    );
    const { result } = await run(QUESTION, { maxSteps: 24 });
    assert.ok(result.steps.length > 0);
    const st = await api.controller.engine.status();
    assert.equal(st.loaded?.contextSize, 1024);
    await setSetting("contextSize", undefined);
  });

  test("Download Recommended Models: the first pair from the arbitrage.modelMirror mirror on 127.0.0.1, into the extension's storage, checked, then selected", async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const gguf = readFileSync(join(ext.extensionPath, "models", "draft.gguf"));
    const mirror = await startModelMirror(gguf);
    const before = { ...api.controller.settings.snapshot.model };
    try {
      await setSetting("modelMirror", mirror.endpoint);
      const done = vscode.commands.executeCommand("arbitrage.downloadModels") as Thenable<string[] | undefined>;
      // The command's quick pick: accept its first item (the measured pair, Qwen2.5-Coder 0.5B → 1.5B).
      await waitFor("the download to start at the mirror", async () => {
        await vscode.commands.executeCommand("workbench.action.acceptSelectedQuickOpenItem");
        return mirror.log.some((l) => l.path.includes("/manifests/"));
      });
      const paths = await Promise.race([done, sleep(60_000).then(() => assert.fail("the download did not finish in 60 s"))]);
      assert.ok(paths, "the command reports no paths: it failed (see its error message)");
      assert.equal(paths.length, 2);
      const manifests = mirror.log.filter((l) => l.path.includes("/manifests/")).map((l) => l.path);
      assert.deepEqual(manifests, [
        "/v2/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/manifests/Q4_K_M",
        "/v2/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/manifests/Q4_K_M",
      ]);
      for (const p of paths) {
        assert.ok(p.startsWith(join(api.controller.context.globalStorageUri.fsPath, "models")), p);
        assert.equal(createHash("sha256").update(readFileSync(p)).digest("hex"), mirror.sha256, `${p} is the served file`);
      }
      await waitFor("the downloaded pair in the settings", () => api.controller.settings.snapshot.model.draft === paths[0]);
      assert.equal(api.controller.settings.snapshot.model.target, paths[1]);
      assert.equal(api.controller.settings.snapshot.model.router, "confidence");
    } finally {
      mirror.close();
      for (const k of ["modelMirror", "draftModel", "targetModel", "router"]) await setSetting(k, undefined);
      for (const [k, v] of Object.entries(JSON.parse(process.env.ARBITRAGE_TEST_SETTINGS ?? "{}") as Record<string, unknown>)) await setSetting(k, v);
      await waitFor(
        "the models restored",
        () => api.controller.settings.snapshot.model.draft === before.draft && api.controller.settings.snapshot.model.router === before.router,
      );
    }
  });

  test("unload disposes the models and the process keeps serving", async function () {
    const model = api.controller.settings.snapshot.model;
    await api.controller.engine.ensureLoaded(model);
    assert.deepEqual((await api.controller.engine.status()).loaded, model);
    await api.controller.engine.unload();
    const st = await api.controller.engine.status();
    assert.equal(st.loaded, null);
    assert.equal(api.controller.engine.hasLoadedModels, false);
  });

  test("stopping the engine (as deactivate does) shuts the process down cleanly; the next request starts a new one", async function () {
    const expected = await reference();
    const engine = api.controller.engine;
    await run(QUESTION, { maxSteps: 24 });
    const pid = engine.pid!;
    const crashes = engine.crashCount;
    await engine.stop();
    await waitFor(
      "the engine process to exit",
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      8000,
    );
    assert.equal(engine.crashCount, crashes, "a requested stop is not a crash");
    assert.equal(engine.lastExit?.expected, true);
    const { result } = await run(QUESTION, { maxSteps: 24 });
    assert.equal(result.text, expected.text);
    assert.notEqual(engine.pid, pid);
  });
});
