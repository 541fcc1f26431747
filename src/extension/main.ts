/**
 * Extension entry point. Activation is cheap: it registers commands, the chat participant, the
 * (guarded) language model provider, the panel serializer and the status bar item. Neither the
 * engine process nor node-llama-cpp nor any model is touched until the first request.
 */
import * as vscode from "vscode";
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
import { bindingsDir, EXTRA_BINDINGS_ENV } from "../shared/binding-packages.js";
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
import { targetMsPerTokenOf } from "../protocol/summary.js";
import { GpuNotices } from "./gpu-notice.js";
import { pairLabel } from "./pair-label.js";
import { RunMirrors } from "./run-mirrors.js";
import { loadServerApiKey, setServerApiKey } from "./server-api-key.js";
import { statusBarView } from "./status-bar.js";
import { TargetSpeeds } from "./target-speed.js";

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

export class Controller extends Disposable implements ChatRunner {
  readonly output: vscode.LogOutputChannel;
  readonly engine: EngineClient;
  readonly settings: Settings;
  readonly statusBar: vscode.StatusBarItem;
  private seq = 0;
  private readonly active = new Map<string, vscode.CancellationTokenSource>();
  private panelRun: string | null = null;
  private lastQuestion: { question: string; overrides: Partial<ReasonOptions> } | null = null;
  private readonly recentRuns = new RunMirrors();
  private readonly speeds: TargetSpeeds;
  private readonly gpuNotices: GpuNotices;
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
    void loadServerApiKey(context.secrets, this.engineEnv);
    this.speeds = new TargetSpeeds(context.globalState);
    this.gpuNotices = new GpuNotices(context.globalState, this.output);
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
    return this.speeds.known(this.settings.snapshot.model);
  }

  pairLabel(): string {
    return pairLabel(this.settings.snapshot.model);
  }

  async setApiKey(): Promise<void> {
    await setServerApiKey(this.context.secrets, this.engineEnv, this.engine, this.output);
  }

  /** A load's backend report: into the status bar tooltip, and a fallback to the CPU as a notification. */
  private onModelsLoaded(gpu: GpuReport): void {
    this.gpu = gpu;
    this.updateStatusBar();
    this.gpuNotices.afterLoad(gpu);
  }

  updateStatusBar(running?: string): void {
    const view = statusBarView({
      pair: this.pairLabel(),
      running,
      lastResult: this.lastResult,
      knownTargetMsPerToken: this.knownTargetMsPerToken(),
      problems: this.settings.lastProblems,
      gpu: this.gpu,
    });
    this.statusBar.text = view.text;
    this.statusBar.tooltip = view.tooltip;
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
        await this.speeds.record(this.settings.snapshot.model, ms);
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
    this.recentRuns.remember(runId, state);
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
