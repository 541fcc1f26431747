/**
 * Extension entry point. Activation is cheap: it registers commands, the chat participant, the
 * (guarded) language model provider, the panel serializer and the status bar item. Neither the
 * engine process nor node-llama-cpp nor any model is touched until the first request.
 */
import * as vscode from "vscode";
import { gpuDetails } from "../engine/gpu-text.js";
import type { EngineEvent, GpuReport, ReasonOptions, ReasonResult } from "../engine/types.js";
import {
  applyEngineEvent,
  ArbitrageError,
  emptyPanelState,
  isArbitrageError,
  startedPanelState,
  type PanelState,
  type RunInfo,
} from "../protocol/index.js";
import { nodeLlamaCppVersion } from "../bindings/install.js";
import { bindingsDir, EXTRA_BINDINGS_ENV } from "../bindings/packages.js";
import { calibrateRouter } from "./calibrate.js";
import { installCudaSupport, removeCudaSupport, type CudaContext, type CudaInstallArgs } from "./cuda.js";
import { CodeApplier } from "./apply-code.js";
import { CODE_COMMANDS, CodeRequests, isCodeDocument, registerCodeActions } from "./code-requests.js";
import { createChatHandler, createLanguageModelProvider, PARTICIPANT_ID, registerLanguageModelProvider, type ChatRunner } from "./chat.js";
import { EngineClient } from "./engineClient.js";
import { downloadRecommended, selectModels } from "./models.js";
import { ArbitragePanel, PANEL_VIEW_TYPE, type PanelHandlers } from "./panel.js";
import { Disposable } from "./dispose.js";
import { Settings } from "./settings.js";
import { formatSpeedup, summarize, targetMsPerTokenOf } from "./summary.js";

export const COMMANDS = {
  reason: "arbitrage.reason",
  reasonOnSelection: "arbitrage.reasonOnSelection",
  selectModels: "arbitrage.selectModels",
  download: "arbitrage.downloadModels",
  stop: "arbitrage.stop",
  showLog: "arbitrage.showLog",
  openPanel: "arbitrage.openPanel",
  calibrateRouter: "arbitrage.calibrateRouter",
  setApiKey: "arbitrage.setApiKey",
  installCuda: "arbitrage.installCuda",
  removeCuda: "arbitrage.removeCuda",
} as const;

const SPEED_KEY = "arbitrage.targetMsPerToken";
/** The fallback reason the user asked not to be told about again (globalState). */
const GPU_NOTICE_DISMISSED_KEY = "arbitrage.gpuNoticeDismissed";
/** The serving engine's API key in SecretStorage (never in settings.json); the engine process gets it as ARBITRAGE_API_KEY. */
const API_KEY_SECRET = "arbitrage.serverApiKey";

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function shortName(p: string): string {
  if (p === "embedded") return "embedded";
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return (i >= 0 ? p.slice(i + 1) : p).replace(/\.gguf$/i, "");
}

export class Controller extends Disposable implements ChatRunner {
  readonly output: vscode.LogOutputChannel;
  readonly engine: EngineClient;
  readonly settings: Settings;
  readonly statusBar: vscode.StatusBarItem;
  private seq = 0;
  private readonly active = new Map<string, vscode.CancellationTokenSource>();
  private panelRun: string | null = null;
  private lastQuestion: { question: string; overrides: Partial<ReasonOptions> } | null = null;
  /** Mirrors of recent chat/LM runs, so "Open in Arbitrage panel" can show them. */
  private readonly recentRuns = new Map<string, PanelState>();
  lastResult: ReasonResult | null = null;
  /** Where the loaded models run, from the engine's last load (null before the first). */
  gpu: GpuReport | null = null;
  /** The engine process's extra environment (read at each start): the calibration folder, the bindings folder, the server API key. */
  private readonly engineEnv: NodeJS.ProcessEnv = {};
  /** What "Install CUDA Support" / "Remove CUDA Support" work with. */
  readonly cuda: CudaContext;
  /** Code requests (code-requests.ts): set by activate(); the chat handler and the panel's code buttons use it. */
  code?: CodeRequests;

  constructor(readonly context: vscode.ExtensionContext) {
    super();
    this.output = this.register(vscode.window.createOutputChannel("Arbitrage Engine", { log: true }));
    // Stopped (asynchronously) in dispose(), before the rest.
    // Router calibrations live in the extension's global storage; the engine process finds them there.
    const calibrations = vscode.Uri.joinPath(context.globalStorageUri, "calibrations").fsPath;
    this.engine = new EngineClient(context.asAbsolutePath("dist/server.mjs"), this.output, this.engineEnv);
    this.engineEnv.ARBITRAGE_CALIBRATIONS = calibrations;
    // The engine process starts on the first request; the stored key is in its environment by then.
    void context.secrets.get(API_KEY_SECRET).then((key) => key && (this.engineEnv.ARBITRAGE_API_KEY = key));
    this.settings = this.register(new Settings());
    // Bindings installed by "Install CUDA Support" (for the bundled node-llama-cpp's version); the folder may not exist yet.
    const version = nodeLlamaCppVersion(context.extensionPath);
    this.cuda = {
      engine: this.engine,
      settings: this.settings,
      storageDir: context.globalStorageUri.fsPath,
      bindingsDir: bindingsDir(context.globalStorageUri.fsPath, version),
      version,
    };
    this.engineEnv[EXTRA_BINDINGS_ENV] = this.cuda.bindingsDir;
    this.statusBar = this.register(vscode.window.createStatusBarItem("arbitrage.status", vscode.StatusBarAlignment.Right, 100));
    this.statusBar.name = "Arbitrage";
    this.statusBar.command = COMMANDS.openPanel;
    this.updateStatusBar();
    this.statusBar.show();
    this.register(
      this.engine.onCrash(({ message }) => {
        void vscode.window.showErrorMessage(message, "Show Engine Log").then((c) => c && this.output.show(true));
        this.updateStatusBar();
      }),
    );
    this.register(this.engine.onLoaded((r) => this.onModelsLoaded(r.gpu)));
    this.register(
      this.settings.onDidChangeModels((model) => {
        const wasLoaded = this.engine.hasLoadedModels;
        this.engine.invalidateModels();
        this.updateStatusBar();
        if (!wasLoaded) {
          this.output.info("model settings changed: the models load on the next request");
          return;
        }
        // Models were warm: reload now (progress notification with cancel), so the next request is fast.
        this.output.info("model settings changed: reloading the models");
        this.engine.ensureLoaded(model).catch((e: unknown) => {
          if (isArbitrageError(e, "cancelled")) return;
          void vscode.window
            .showErrorMessage(`Arbitrage: could not load the new models — ${e instanceof Error ? e.message : String(e)}`, "Show Engine Log")
            .then((c) => c && this.output.show(true));
        });
      }),
    );
  }

  /** The open panel, if any. */
  get panel(): ArbitragePanel | undefined {
    return ArbitragePanel.current;
  }

  get contextSize(): number {
    return this.settings.snapshot.model.contextSize;
  }

  knownTargetMsPerToken(): number | null {
    return this.context.globalState.get<number>(this.speedKey()) ?? null;
  }

  /** The target's measured speed is kept per pair: another pair's speed would make the estimate meaningless. */
  private speedKey(): string {
    const m = this.settings.snapshot.model;
    return `${SPEED_KEY}:${JSON.stringify([m.draft, m.target, m.remote?.draft?.url ?? null, m.remote?.target?.url ?? null])}`;
  }

  pairLabel(): string {
    const m = this.settings.snapshot.model;
    const where = (role: "draft" | "target") => (m.remote?.[role] ? ` @ ${hostOf(m.remote[role]!.url)}` : "");
    if (m.draft === "embedded" && m.target === "embedded" && !m.remote) return "embedded demo pair";
    return `${shortName(m.draft)}${where("draft")} → ${shortName(m.target)}${where("target")}`;
  }

  /** Arbitrage: Set Server API Key — kept in SecretStorage; the engine restarts with it on the next request. */
  async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: "Arbitrage: server API key",
      prompt:
        "The API key of the serving engine (arbitrage.targetUrl / draftUrl). Kept in VS Code's secret storage, never in settings. Empty removes it.",
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return;
    if (key === "") {
      await this.context.secrets.delete(API_KEY_SECRET);
      delete this.engineEnv.ARBITRAGE_API_KEY;
    } else {
      await this.context.secrets.store(API_KEY_SECRET, key);
      this.engineEnv.ARBITRAGE_API_KEY = key;
    }
    // The key reaches the engine through its process environment: restart it (lazily, on the next request).
    await this.engine.stop();
    this.output.info(`server API key ${key === "" ? "removed" : "stored in secret storage"}; the engine restarts with it on the next request`);
    void vscode.window.showInformationMessage(`Arbitrage: server API key ${key === "" ? "removed" : "saved in VS Code's secret storage"}.`);
  }

  /**
   * A load's backend report: into the status bar tooltip, and a fallback to the CPU as a
   * notification, once per reason (each engine start repeats the same reason; "Don't Show Again"
   * keeps it quiet until the reason changes, e.g. a driver is installed and its device is missing).
   */
  private onModelsLoaded(gpu: GpuReport): void {
    this.gpu = gpu;
    this.updateStatusBar();
    const reason = gpu.fallbackReason;
    if (!reason || this.gpuNoticesShown.has(reason) || this.context.globalState.get<string>(GPU_NOTICE_DISMISSED_KEY) === reason) return;
    this.gpuNoticesShown.add(reason);
    void vscode.window.showWarningMessage(`Arbitrage runs on the CPU. ${reason}`, "Show Engine Log", "Don't Show Again").then((choice) => {
      if (choice === "Show Engine Log") this.output.show(true);
      else if (choice === "Don't Show Again") void this.context.globalState.update(GPU_NOTICE_DISMISSED_KEY, reason);
    });
  }
  private readonly gpuNoticesShown = new Set<string>();

  updateStatusBar(running?: string): void {
    const pair = this.pairLabel();
    const shortPair = pair === "embedded demo pair" ? "demo pair" : pair;
    if (running) {
      this.statusBar.text = `$(sync~spin) Arbitrage: ${running}`;
    } else if (this.lastResult) {
      const s = summarize(this.lastResult, this.knownTargetMsPerToken());
      // The speedup only once the target's speed is known for this pair (summary.ts); never a placeholder.
      this.statusBar.text = `$(zap) ${shortPair} · ${s.tokensPerSecond.toFixed(0)} tok/s${s.speedup === null ? "" : ` · ~${formatSpeedup(s.speedup)} vs target`}`;
    } else {
      this.statusBar.text = `$(zap) Arbitrage: ${shortPair}`;
    }
    const problems = this.settings.lastProblems.map((p) => `\n⚠ ${p.setting}: ${p.message}`).join("");
    const gpu = this.gpu ?? this.lastResult?.stats.gpu;
    this.statusBar.tooltip = `Arbitrage — ${pair}${this.lastResult ? ` — last run: ${this.lastResult.steps.length} steps` : ""}${problems}${gpu ? `\n${gpuDetails(gpu)}` : ""}\nClick to open the panel.`;
  }

  private newRunId(): string {
    return `run-${Date.now().toString(36)}-${++this.seq}`;
  }

  /** Runs one question through the engine (shared by the panel, chat and the LM provider). */
  async run(
    question: string,
    overrides: Partial<ReasonOptions>,
    onEvent: (e: EngineEvent) => void,
    token: vscode.CancellationToken | undefined,
    source: "panel" | "chat" | "lm" | "api",
    runId = this.newRunId(),
  ): Promise<{ runId: string; result: ReasonResult }> {
    const { model, options } = this.settings.snapshot;
    const opts: ReasonOptions = { ...options, ...overrides };
    const cts = new vscode.CancellationTokenSource();
    const sub = token?.onCancellationRequested(() => cts.cancel());
    this.active.set(runId, cts);
    // Chat and LM runs keep a mirror of the panel state, so "Open in Arbitrage panel" can show them.
    const remembered = source === "chat" || source === "lm";
    let mirror = startedPanelState(emptyPanelState(), this.runInfo(runId, question, opts));
    const update = (e: EngineEvent) => {
      mirror = applyEngineEvent(mirror, e);
      if (remembered) this.remember(runId, mirror);
    };
    if (remembered) this.remember(runId, mirror);
    let stepNo = 0;
    this.updateStatusBar("loading…");
    try {
      const result = await this.engine.reason(
        runId,
        question,
        model,
        opts,
        (e) => {
          if (e.type === "step-started") this.updateStatusBar(`step ${(stepNo = e.index + 1)}`);
          update(e);
          onEvent(e);
        },
        cts.token,
      );
      if (!mirror.result) update({ type: "finished", result });
      this.lastResult = result;
      const ms = targetMsPerTokenOf(result);
      if (ms !== null) {
        await this.context.globalState.update(this.speedKey(), ms);
        ArbitragePanel.current?.setTargetSpeed(ms);
      }
      this.output.info(`${source} ${runId}: ${result.steps.length} steps, ${result.finishReason}, ${stepNo} started`);
      return { runId, result };
    } finally {
      sub?.dispose();
      this.active.delete(runId);
      cts.dispose();
      this.updateStatusBar();
    }
  }

  private runInfo(runId: string, question: string, opts: ReasonOptions): RunInfo {
    return { runId, question, policy: opts.policy, threshold: opts.threshold, pair: this.pairLabel(), startedAt: Date.now() };
  }

  private remember(runId: string, state: PanelState): void {
    this.recentRuns.set(runId, state);
    while (this.recentRuns.size > 20) this.recentRuns.delete(this.recentRuns.keys().next().value!);
  }

  readonly panelHandlers: PanelHandlers = {
    rerun: (threshold) => {
      if (this.lastQuestion) void this.runInPanel(this.lastQuestion.question, { ...this.lastQuestion.overrides, threshold });
    },
    stop: () => void this.stop(),
    showLog: () => this.output.show(true),
    codeBlock: (action, block) => void this.code?.panelCodeBlock(action, block),
  };

  /** The panel's current run, for its code blocks' buttons. */
  panelAnswer(): { question: string; answer: string | null } | undefined {
    const state = ArbitragePanel.current?.state;
    return state?.run ? { question: state.run.question, answer: state.result?.text ?? null } : undefined;
  }

  showPanel(preserveFocus = false): ArbitragePanel {
    return ArbitragePanel.show(this.context.extensionUri, this.panelHandlers, preserveFocus);
  }

  /** Opens the panel and streams a run into it. Resolves with the result, or undefined on failure/cancel. */
  async runInPanel(question: string, overrides: Partial<ReasonOptions> = {}): Promise<ReasonResult | undefined> {
    const panel = this.showPanel(true);
    if (this.panelRun) this.active.get(this.panelRun)?.cancel();
    const runId = this.newRunId();
    this.panelRun = runId;
    this.lastQuestion = { question, overrides };
    const { options } = this.settings.snapshot;
    panel.startRun(this.runInfo(runId, question, { ...options, ...overrides }));
    panel.status(this.engine.running ? "Reasoning…" : "Starting the engine and loading models…");
    let started = false;
    try {
      const { result } = await this.run(
        question,
        overrides,
        (e) => {
          if (!started && e.type === "step-started") {
            started = true;
            ArbitragePanel.current?.status("Reasoning…");
          }
          ArbitragePanel.current?.event(runId, e);
        },
        undefined,
        "panel",
        runId,
      );
      ArbitragePanel.current?.status(`Finished: ${result.finishReason}.`);
      // The engine streams "finished" itself; this covers a result that arrived without it.
      if (ArbitragePanel.current && !ArbitragePanel.current.state.result) ArbitragePanel.current.event(runId, { type: "finished", result });
      return result;
    } catch (e) {
      const err = isArbitrageError(e) ? e : new ArbitrageError("internal", e instanceof Error ? e.message : String(e));
      ArbitragePanel.current?.fail(runId, err.toJSON());
      ArbitragePanel.current?.status(err.code === "cancelled" ? "Stopped." : "Failed.");
      if (err.code !== "cancelled" && err.code !== "engine-crashed") {
        void vscode.window.showErrorMessage(`Arbitrage: ${err.message}`, "Show Engine Log").then((c) => c && this.output.show(true));
      }
      return undefined;
    } finally {
      if (this.panelRun === runId) this.panelRun = null;
    }
  }

  async reasonCommand(arg?: unknown): Promise<ReasonResult | undefined> {
    let question = typeof arg === "string" ? arg : undefined;
    if (question === undefined) {
      const editor = vscode.window.activeTextEditor;
      const sel = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
      question = sel.trim()
        ? sel
        : await vscode.window.showInputBox({
            title: "Reason with Arbitrage",
            prompt: "Question for the draft → target pair",
            placeHolder: "e.g. Q: 12*7+5",
            value: this.lastQuestion?.question,
            ignoreFocusOut: true,
          });
    }
    if (question === undefined) return undefined;
    if (!question.trim()) {
      void vscode.window.showWarningMessage("Arbitrage: the question is empty.");
      return undefined;
    }
    return this.runInPanel(question);
  }

  async reasonOnSelection(): Promise<ReasonResult | undefined> {
    const editor = vscode.window.activeTextEditor;
    const text = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
    if (!text.trim()) {
      void vscode.window.showWarningMessage("Arbitrage: select some text first.");
      return undefined;
    }
    return this.runInPanel(text);
  }

  async stop(): Promise<number> {
    const n = this.active.size;
    for (const cts of this.active.values()) cts.cancel();
    await this.engine.cancelAll().catch(() => 0);
    return n;
  }

  openPanel(runId?: unknown): void {
    const panel = this.showPanel();
    const saved = typeof runId === "string" ? this.recentRuns.get(runId) : undefined;
    if (saved) panel.restoreState(saved);
  }

  async dispose(): Promise<void> {
    for (const cts of this.active.values()) cts.cancel();
    ArbitragePanel.current?.dispose();
    await this.engine.dispose();
    super.dispose();
  }
}

/** What activate() returns: used by the integration tests (and by other extensions, if ever). */
export interface ArbitrageApi {
  controller: Controller;
  chatHandler: vscode.ChatRequestHandler;
  languageModelProvider: ReturnType<typeof createLanguageModelProvider>;
  languageModelProviderRegistered: boolean;
  code: CodeRequests;
}

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): ArbitrageApi {
  const c = (controller = new Controller(context));
  const chatHandler = createChatHandler(c);
  const reg = (id: string, fn: (...args: unknown[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  reg(COMMANDS.reason, (arg) => c.reasonCommand(arg));
  // In a code file the selection is code to ask about (code-requests.ts); elsewhere it is the question.
  const code = (c.code = new CodeRequests(c, new CodeApplier()));
  context.subscriptions.push(code, registerCodeActions());
  reg(COMMANDS.reasonOnSelection, (arg) => {
    const editor = vscode.window.activeTextEditor;
    return editor && isCodeDocument(editor.document) ? code.reasonOnSelection(arg) : c.reasonOnSelection();
  });
  reg(CODE_COMMANDS.reasonOnCode, (uri, range, question) => code.reasonOnCode(uri, range, question));
  reg(COMMANDS.selectModels, () => selectModels(c.engine, c.settings, context.globalStorageUri));
  reg(COMMANDS.download, () => downloadRecommended(c.engine, c.settings, context.globalStorageUri));
  reg(COMMANDS.stop, () => c.stop());
  reg(COMMANDS.showLog, () => c.output.show(true));
  reg(COMMANDS.openPanel, (runId) => c.openPanel(runId));
  reg(COMMANDS.calibrateRouter, () => calibrateRouter(c.engine, c.settings, context.extensionUri));
  reg(COMMANDS.setApiKey, () => c.setApiKey());
  reg(COMMANDS.installCuda, (args) => installCudaSupport(c.cuda, (args ?? {}) as CudaInstallArgs));
  reg(COMMANDS.removeCuda, () => removeCudaSupport(c.cuda));

  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        ArbitragePanel.revive(panel, context.extensionUri, c.panelHandlers, state);
      },
    }),
  );

  const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, chatHandler);
  participant.iconPath = vscode.Uri.joinPath(context.extensionUri, "media", "icon.svg");
  context.subscriptions.push(participant);

  // One provider: the object VS Code is given is the one the API returns (the tests drive it).
  const languageModelProvider = createLanguageModelProvider(c);
  const lmReg = registerLanguageModelProvider(languageModelProvider);
  if (lmReg) context.subscriptions.push(lmReg);
  c.output.info(`activated (VS Code ${vscode.version}; language model provider ${lmReg ? "registered" : "not available in this VS Code"})`);

  return { controller: c, chatHandler, languageModelProvider, languageModelProviderRegistered: !!lmReg, code };
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.dispose();
}
