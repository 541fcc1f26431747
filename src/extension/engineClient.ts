/**
 * The extension host's side of the engine process: a vscode-languageclient LanguageClient whose
 * server is src/server/main.ts forked as a Node module over IPC. We fork it ourselves (the
 * function form of ServerOptions) so we see the process's exit code/signal and its last stderr
 * lines, which name the cause when a model makes llama.cpp abort.
 *
 * On an unexpected exit: every in-flight request fails at once with `engine-crashed` (a clear
 * message naming the cause), the client restarts the process, and the next request reloads the
 * models and works.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  ErrorCodes,
  IPCMessageReader,
  IPCMessageWriter,
  LanguageClient,
  ResponseError,
  RevealOutputChannelOn,
  State,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type MessageTransports,
} from "vscode-languageclient/node.js";
import type { EngineEvent, LoadProgress, ModelConfig, ReasonOptions, ReasonResult } from "../engine/types.js";
import {
  CalibrateProgressNotification,
  CalibrateRequest,
  CancelRequest,
  DownloadProgressNotification,
  DownloadRequest,
  ArbitrageError,
  cancelledError,
  EngineEventNotification,
  errorFromData,
  LoadProgressNotification,
  LoadRequest,
  LogNotification,
  ReasonRequest,
  RpcErrorCodes,
  StatusRequest,
  UnloadRequest,
  type CalibrateParams,
  type CalibrateProgressParams,
  type CalibrateSummary,
  type DownloadProgressParams,
  type LoadResult,
  type StatusResult,
} from "../protocol/index.js";
import { describeCrash, type ExitInfo } from "./crash.js";
import { Disposable, disposeAll } from "./dispose.js";
import { fileName } from "../shared/file-name.js";

export type { ExitInfo };

/** Restarts allowed within 3 minutes (the window of the language client's default error handler). */
const MAX_RESTARTS = 5;
const STDERR_TAIL = 4000;

export class EngineClient extends Disposable {
  private client: LanguageClient | null = null;
  private child: ChildProcess | null = null;
  private stderrTail = "";
  private stopping = false;
  private seq = 0;
  private loadedKey: string | null = null;
  private readonly inflight = new Map<string, (e: ArbitrageError) => void>();
  private readonly eventListeners = new Map<string, (e: EngineEvent) => void>();
  private readonly downloadListeners = new Map<string, (p: DownloadProgressParams) => void>();
  private readonly calibrateListeners = new Map<string, (p: CalibrateProgressParams) => void>();
  private loadProgressListener: ((p: LoadProgress) => void) | null = null;
  private readonly _onCrash = this.register(new vscode.EventEmitter<{ info: ExitInfo; message: string }>());
  /** Fires after the engine process died unexpectedly (before the restart). */
  readonly onCrash = this._onCrash.event;
  private readonly _onLoaded = this.register(new vscode.EventEmitter<LoadResult>());
  /** Fires after each answered load request (the server's report of where the models run). */
  readonly onLoaded = this._onLoaded.event;
  lastExit: ExitInfo | null = null;
  crashCount = 0;
  /** Set from an unexpected exit until the restarted process is running (or the client gave up). */
  private restartWait: Promise<void> | null = null;
  private endRestartWait: (() => void) | null = null;

  constructor(
    private readonly serverModule: string,
    readonly output: vscode.LogOutputChannel,
    private readonly forkEnv: NodeJS.ProcessEnv = {},
  ) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  private serverOptions = async (): Promise<MessageTransports> => {
    this.stderrTail = "";
    const child = fork(this.serverModule, ["--node-ipc"], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      execArgv: [],
      // Desktop VS Code's extension host is Electron: run the fork as plain Node (as languageclient does).
      env: { ...process.env, ...this.forkEnv, ELECTRON_RUN_AS_NODE: "1" },
    });
    this.child = child;
    this.loadedKey = null;
    child.stdout?.setEncoding("utf8").on("data", (d: string) => this.output.info(`[engine stdout] ${d.trimEnd()}`));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-STDERR_TAIL);
      this.output.warn(`[engine stderr] ${d.trimEnd()}`);
    });
    child.on("exit", (code, signal) => this.onExit(child, code, signal));
    this.output.info(`engine process started (pid ${child.pid})`);
    return { reader: new IPCMessageReader(child), writer: new IPCMessageWriter(child) };
  };

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    // A process that is no longer the current one was stopped (stop() lets go of it before it exits): its exit,
    // however late, is not a crash of the engine that serves requests now.
    const current = this.child === child;
    const expected = this.stopping || !current;
    if (current) {
      this.child = null;
      this.loadedKey = null;
    }
    const info: ExitInfo = { pid: child.pid, code, signal, stderrTail: this.stderrTail, at: Date.now(), expected };
    this.lastExit = info;
    if (expected) {
      this.output.info(`engine process ${child.pid} exited (code ${code}, signal ${signal})`);
      return;
    }
    this.crashCount++;
    // Requests made from now on wait for the restarted process instead of hitting the dead connection.
    if (!this.restartWait) {
      const client = this.client;
      this.restartWait = new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          sub?.dispose();
          this.restartWait = null;
          this.endRestartWait = null;
          resolve();
        };
        const timer = setTimeout(done, 20_000);
        const sub = client?.onDidChangeState((e) => {
          if (e.newState === State.Running) done();
        });
        this.endRestartWait = done;
      });
    }
    const message = describeCrash(info);
    this.output.error(message);
    const err = new ArbitrageError("engine-crashed", message);
    for (const fail of [...this.inflight.values()]) fail(err);
    this.inflight.clear();
    this._onCrash.fire({ info, message });
  }

  private async ensureStarted(): Promise<LanguageClient> {
    if (this.restartWait) await this.restartWait;
    if (this.client && this.client.state !== State.Stopped) {
      if (this.client.state === State.Starting || this.client.state === State.Running) return this.client;
    }
    if (this.client && this.client.state === State.Stopped) {
      await this.client.dispose().catch(() => undefined);
      this.client = null;
    }
    if (!this.client) {
      this.stopping = false;
      const client: LanguageClient = new LanguageClient("arbitrageEngine", "Arbitrage Engine", this.serverOptions, {
        documentSelector: [],
        outputChannel: this.output,
        revealOutputChannelOn: RevealOutputChannelOn.Never,
        initializationFailedHandler: (e) => {
          this.output.error(`engine initialization failed: ${String(e)}`);
          return false;
        },
        errorHandler: this.restartPolicy((): LanguageClient => client),
      });
      client.onNotification(EngineEventNotification, ({ requestId, event }) => this.eventListeners.get(requestId)?.(event));
      client.onNotification(LoadProgressNotification, (p) => this.loadProgressListener?.(p));
      client.onNotification(DownloadProgressNotification, (p) => this.downloadListeners.get(p.downloadId)?.(p));
      client.onNotification(CalibrateProgressNotification, (p) => this.calibrateListeners.get(p.requestId)?.(p));
      client.onNotification(LogNotification, ({ level, message }) => {
        if (level === "error") this.output.error(message);
        else if (level === "warn") this.output.warn(message);
        else this.output.info(message);
      });
      this.client = client;
    }
    await this.client.start();
    return this.client;
  }

  /**
   * When the engine process closes, the language client's own default handler decides whether to
   * restart it (yes, unless it died MAX_RESTARTS + 1 times within 3 minutes); this adds what the
   * library cannot know — a stop we asked for is no crash — and our message when it gives up.
   * A read/write error on the IPC channel comes with the close, so the close decides alone.
   */
  private restartPolicy(client: () => LanguageClient): ErrorHandler {
    let library: ErrorHandler | undefined;
    return {
      error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue, handled: true }),
      closed: async (): Promise<CloseHandlerResult> => {
        if (this.stopping) {
          this.endRestartWait?.();
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        library ??= client().createDefaultErrorHandler(MAX_RESTARTS);
        const { action } = await library.closed();
        if (action === CloseAction.DoNotRestart) {
          void vscode.window.showErrorMessage(
            `The Arbitrage engine crashed ${MAX_RESTARTS + 1} times within 3 minutes and will not be restarted automatically. Check the model settings, then run any Arbitrage command to start it again.`,
          );
          this.endRestartWait?.();
          return { action, handled: true };
        }
        this.output.info("restarting the engine process");
        return { action: CloseAction.Restart, handled: true };
      },
    };
  }

  /** Sends one request, failing fast (engine-crashed) when the process dies meanwhile. */
  private async request<R>(run: (c: LanguageClient) => Promise<R>): Promise<R> {
    const id = `q${++this.seq}`;
    let failNow: (e: ArbitrageError) => void = () => undefined;
    const crashed = new Promise<never>((_, reject) => {
      failNow = reject;
    });
    this.inflight.set(id, failNow);
    try {
      const client = await Promise.race([this.ensureStarted(), crashed]);
      return await Promise.race([run(client), crashed]);
    } catch (e) {
      throw this.translate(e);
    } finally {
      this.inflight.delete(id);
      crashed.catch(() => undefined);
    }
  }

  private translate(e: unknown): ArbitrageError {
    if (e instanceof ArbitrageError) return e;
    if (e instanceof vscode.CancellationError) return cancelledError();
    if (e instanceof ResponseError) {
      const carried = errorFromData(e.data);
      if (carried) return carried;
      if (e.code === RpcErrorCodes.RequestCancelled) return cancelledError();
      if (e.code === ErrorCodes.PendingResponseRejected || e.code === ErrorCodes.ConnectionInactive) {
        return new ArbitrageError(
          "engine-crashed",
          this.lastExit ? describeCrash(this.lastExit) : `The Arbitrage engine process stopped (${e.message}).`,
        );
      }
      return new ArbitrageError("internal", e.message);
    }
    return new ArbitrageError("internal", e instanceof Error ? e.message : String(e));
  }

  /** Loads the models when they differ from the loaded ones; shows progress with cancel. */
  async ensureLoaded(config: ModelConfig, token?: vscode.CancellationToken, showProgress = true): Promise<LoadResult | null> {
    const key = JSON.stringify(config);
    if (this.loadedKey === key && this.running) return null;
    const run = (t: vscode.CancellationToken | undefined, report?: (p: LoadProgress) => void) =>
      this.request(async (c) => {
        this.loadProgressListener = report ?? null;
        try {
          const r = await c.sendRequest(LoadRequest, { config }, t);
          this.loadedKey = key;
          this._onLoaded.fire(r);
          return r;
        } finally {
          this.loadProgressListener = null;
        }
      });
    if (!showProgress) return run(token);
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Arbitrage: loading models", cancellable: true },
      async (progress, progressToken) => {
        const cts = new vscode.CancellationTokenSource();
        const subs = [cts, progressToken.onCancellationRequested(() => cts.cancel())];
        if (token) subs.push(token.onCancellationRequested(() => cts.cancel()));
        try {
          return await run(cts.token, (p) => {
            progress.report({ message: `${p.role}: ${fileName(p.path)} ${Math.round(p.progress * 100)}%` });
          });
        } finally {
          disposeAll(subs);
        }
      },
    );
  }

  async reason(
    requestId: string,
    question: string,
    config: ModelConfig,
    options: Partial<ReasonOptions>,
    onEvent: (e: EngineEvent) => void,
    token?: vscode.CancellationToken,
    showLoadProgress = true,
  ): Promise<ReasonResult> {
    await this.ensureLoaded(config, token, showLoadProgress);
    if (token?.isCancellationRequested) throw cancelledError();
    this.eventListeners.set(requestId, onEvent);
    try {
      return await this.request((c) => c.sendRequest(ReasonRequest, { requestId, question, config, options }, token));
    } finally {
      this.eventListeners.delete(requestId);
    }
  }

  async cancelAll(): Promise<number> {
    if (!this.running) return 0;
    const r = await this.request((c) => c.sendRequest(CancelRequest, {}));
    return r.cancelled;
  }

  async status(): Promise<StatusResult> {
    return this.request((c) => c.sendRequest(StatusRequest));
  }

  async unload(): Promise<void> {
    if (!this.running) return;
    await this.request((c) => c.sendRequest(UnloadRequest));
    this.loadedKey = null;
  }

  async download(
    uri: string,
    dirPath: string,
    endpoint: string | undefined,
    onProgress: (p: DownloadProgressParams) => void,
    token: vscode.CancellationToken,
  ): Promise<string> {
    const downloadId = `d${++this.seq}`;
    this.downloadListeners.set(downloadId, onProgress);
    try {
      const r = await this.request((c) => c.sendRequest(DownloadRequest, { downloadId, uri, dirPath, ...(endpoint ? { endpoint } : {}) }, token));
      return r.path;
    } finally {
      this.downloadListeners.delete(downloadId);
    }
  }

  /** Router calibration for a pair (runs in the engine process); the engine reloads the pair afterwards to use it. */
  async calibrate(
    params: Omit<CalibrateParams, "requestId">,
    onProgress: (p: CalibrateProgressParams) => void,
    token: vscode.CancellationToken,
  ): Promise<CalibrateSummary> {
    const requestId = `c${++this.seq}`;
    this.calibrateListeners.set(requestId, onProgress);
    try {
      return await this.request((c) => c.sendRequest(CalibrateRequest, { requestId, ...params }, token));
    } finally {
      this.calibrateListeners.delete(requestId);
      this.loadedKey = null;
    }
  }

  /** True when the running engine has models loaded (by this client). */
  get hasLoadedModels(): boolean {
    return this.running && this.loadedKey !== null;
  }

  /** Marks the models stale so the next request reloads them (after a model setting change). */
  invalidateModels(): void {
    this.loadedKey = null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    this.client = null;
    if (client) {
      try {
        if (client.state === State.Running) await client.stop(4000);
      } catch {
        /* already gone */
      }
      await client.dispose().catch(() => undefined);
    }
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    this.child = null;
    this.loadedKey = null;
  }

  override async dispose(): Promise<void> {
    await this.stop();
    super.dispose();
  }
}
