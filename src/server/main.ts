/**
 * Arbitrage engine server: a separate Node process started by the extension host through
 * vscode-languageclient (module over Node IPC). It owns node-llama-cpp and the models, so a
 * model file that makes llama.cpp abort kills this process only; the client restarts it.
 *
 * Requests are declared in src/protocol. Reason and load requests run one at a time in a FIFO
 * queue; cancellation comes through the protocol's own `$/cancelRequest` (request token) or
 * the out-of-band `arbitrage/cancel`.
 */
import { createConnection, ProposedFeatures, ResponseError, type CancellationToken } from "vscode-languageserver/node.js";
import { ArbitrageEngine } from "../engine/index.js";
import { cancelledError, isArbitrageError } from "../engine/errors.js";
import { gpuSummary } from "../protocol/gpu-text.js";
import type { ModelConfig, ReasonResult } from "../engine/types.js";
import { loadProblems } from "../engine/problem-file.js";
import { calibrate, chooseLabels } from "../engine/calibration/calibrate.js";
import { calibratedDescription, defaultCalibrationDir } from "../engine/calibration/calibration-file.js";
import {
  CalibrateProgressNotification,
  CalibrateRequest,
  CancelRequest,
  DownloadProgressNotification,
  DownloadRequest,
  EngineEventNotification,
  LoadProgressNotification,
  LoadRequest,
  LogNotification,
  PROTOCOL_VERSION,
  ReasonRequest,
  RpcErrorCodes,
  StatusRequest,
  UnloadRequest,
  type CalibrateSummary,
  type EngineErrorData,
  type LoadResult,
  type LogParams,
  type StatusResult,
} from "../protocol/index.js";
import { DEFAULT_STALL_MS, downloadModel } from "./download.js";
import { useExtraBindings } from "./extra-bindings.js";
import { installRawMessageGuard } from "./guard.js";
import { CalibrateParamsSchema, CancelParamsSchema, DownloadParamsSchema, LoadParamsSchema, parseParams, ReasonParamsSchema } from "./params.js";

installRawMessageGuard();
process.title = "arbitrage-engine";

const connection = createConnection(ProposedFeatures.all);
const startedAt = Date.now();

function log(level: LogParams["level"], message: string): void {
  try {
    connection.sendNotification(LogNotification, { level, message });
  } catch {
    /* connection gone */
  }
}

process.on("uncaughtException", (e) => log("error", `uncaught exception: ${e instanceof Error ? e.stack : String(e)}`));
process.on("unhandledRejection", (e) => log("error", `unhandled rejection: ${e instanceof Error ? e.stack : String(e)}`));

// Installed bindings (the CUDA one) resolve from the extension's storage; registered before any request loads node-llama-cpp's binding.
const redirected = new Set<string>();
const extraBindings = useExtraBindings(({ specifier, path }) => {
  if (redirected.has(path)) return;
  redirected.add(path);
  log("info", `binding ${specifier} resolved from ${path}`);
});

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

function toResponseError(e: unknown): ResponseError<EngineErrorData> {
  if (e instanceof ResponseError) return e as ResponseError<EngineErrorData>;
  if (isArbitrageError(e)) {
    const code = e.code === "cancelled" ? RpcErrorCodes.RequestCancelled : RpcErrorCodes.EngineError;
    return new ResponseError(code, e.message, e.toJSON());
  }
  const message = e instanceof Error ? e.message : String(e);
  log("error", `internal error: ${e instanceof Error ? e.stack : message}`);
  return new ResponseError(RpcErrorCodes.InternalError, `Internal engine error: ${message}`, { code: "internal", message });
}

/** A request handler whose every failure reaches the client as one `EngineErrorData` reply. */
function answering<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (e) {
      throw toResponseError(e);
    }
  };
}

// ------------------------------------------------------------------------------------------
// Work queue: one job (load / reason / unload) at a time, cancellable while queued.
// ------------------------------------------------------------------------------------------

interface Job {
  id: string;
  abort: AbortController;
  run: () => Promise<void>;
}

const queue: Job[] = [];
let current: Job | null = null;
const controllers = new Map<string, AbortController>();
let served = 0;
/** Model loads started, each of the whole configuration: a client sees whether a settings change reloaded. */
let loads = 0;

function pump(): void {
  if (current) return;
  const job = queue.shift();
  if (!job) return;
  current = job;
  void job.run().finally(() => {
    current = null;
    pump();
  });
}

function enqueue<T>(id: string, token: CancellationToken | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  controllers.set(id, abort);
  const sub = token?.onCancellationRequested(() => abort.abort());
  return new Promise<T>((resolve, reject) => {
    const job: Job = {
      id,
      abort,
      run: async () => {
        try {
          if (abort.signal.aborted) throw cancelledError();
          resolve(await work(abort.signal));
        } catch (e) {
          reject(e);
        } finally {
          sub?.dispose();
          if (controllers.get(id) === abort) controllers.delete(id);
          served++;
        }
      },
    };
    abort.signal.addEventListener("abort", () => {
      const i = queue.indexOf(job);
      if (i >= 0) {
        queue.splice(i, 1);
        sub?.dispose();
        controllers.delete(id);
        reject(cancelledError());
      }
    });
    queue.push(job);
    pump();
  });
}

// ------------------------------------------------------------------------------------------
// Models
// ------------------------------------------------------------------------------------------

let engine: ArbitrageEngine | null = null;
let engineConfig: ModelConfig | null = null;
let loading = false;

const keyOf = (c: ModelConfig) => JSON.stringify(c);

/** Disposes the loaded models, if any; false when none were loaded. */
async function dropEngine(): Promise<boolean> {
  if (!engine) return false;
  const old = engine;
  engine = null;
  engineConfig = null;
  await old.dispose();
  return true;
}

/** The engine of `config`, loaded now unless it already is, and what the load did. */
async function ensureLoaded(config: ModelConfig, signal: AbortSignal): Promise<{ engine: ArbitrageEngine; load: LoadResult }> {
  const t0 = Date.now();
  if (engine && engineConfig && keyOf(engineConfig) === keyOf(config)) {
    return { engine, load: { loaded: false, ms: 0, draft: config.draft, target: config.target, gpu: engine.gpu, warnings: engine.warnings } };
  }
  if (engine) log("info", "model settings changed: disposing the loaded models");
  await dropEngine();
  loading = true;
  loads++;
  try {
    log(
      "info",
      `loading models: draft=${config.draft} target=${config.target} router=${JSON.stringify(config.router)} threads=${config.threads} gpu=${config.gpu}`,
    );
    // At most ~10 progress notifications a second per file, plus every file's completion.
    const lastSent = new Map<string, number>();
    const loaded = await ArbitrageEngine.create(config, {
      signal,
      // The extension points this at its global storage (ARBITRAGE_CALIBRATIONS in the fork's environment).
      calibrationDir: defaultCalibrationDir(),
      onProgress: (p) => {
        const now = Date.now();
        const key = `${p.role}:${p.path}`;
        if (p.progress < 1 && now - (lastSent.get(key) ?? 0) < 100) return;
        lastSent.set(key, now);
        connection.sendNotification(LoadProgressNotification, p);
      },
    });
    engine = loaded;
    engineConfig = config;
    for (const w of loaded.warnings) log("warn", w);
    log("info", `router: ${loaded.info().router}`);
    log("info", `backend: ${gpuSummary(loaded.gpu)}${loaded.gpu.split ? `; split: ${loaded.gpu.split}` : ""}`);
    const ms = Date.now() - t0;
    log("info", `models loaded in ${ms} ms`);
    return { engine: loaded, load: { loaded: true, ms, draft: config.draft, target: config.target, gpu: loaded.gpu, warnings: loaded.warnings } };
  } finally {
    loading = false;
  }
}

// ------------------------------------------------------------------------------------------
// Handlers
// ------------------------------------------------------------------------------------------

connection.onInitialize(() => ({
  capabilities: {},
  serverInfo: { name: "arbitrage-engine", version: String(PROTOCOL_VERSION) },
}));

connection.onRequest(
  ReasonRequest,
  answering(async (params, token) => {
    const { requestId, question, config, options } = parseParams(ReasonParamsSchema, params);
    return await enqueue<ReasonResult>(requestId, token, async (signal) => {
      const { engine } = await ensureLoaded(config, signal);
      if (signal.aborted) throw cancelledError();
      const t0 = Date.now();
      const result = await engine.reason(question, options, {
        signal,
        onEvent: (event) => connection.sendNotification(EngineEventNotification, { requestId, event }),
      });
      log(
        "info",
        `request ${requestId}: ${result.steps.length} steps (${result.stats.stepsByModel.draft} draft / ${result.stats.stepsByModel.target} target), ${result.finishReason}, ${Date.now() - t0} ms`,
      );
      return result;
    });
  }),
);

connection.onRequest(
  CalibrateRequest,
  answering(async (params, token) => {
    const { requestId, config, problemsPath, budgetMinutes } = parseParams(CalibrateParamsSchema, params);
    const problems = loadProblems(problemsPath);
    return await enqueue<CalibrateSummary>(requestId, token, async (signal) => {
      const { engine } = await ensureLoaded(config, signal);
      const labels = await chooseLabels(engine, problems, "auto");
      const dir = defaultCalibrationDir();
      const result = await calibrate(engine, {
        problems,
        labels,
        dir,
        signal,
        budgetMs: budgetMinutes === undefined ? undefined : budgetMinutes * 60_000,
        onProgress: (p) =>
          connection.sendNotification(CalibrateProgressNotification, {
            requestId,
            done: p.done,
            total: p.total,
            rows: p.rows,
            positives: p.positives,
            etaMs: p.etaMs,
          }),
      });
      if (result.status === "cancelled") {
        log("info", `calibration ${requestId} cancelled after ${result.done}/${result.total} problems; the rollouts are kept in ${result.logPath}`);
        return {
          status: "cancelled",
          path: null,
          router: null,
          auc: null,
          defaultWeightsAuc: null,
          suggestedThreshold: null,
          labels,
          done: result.done,
          total: result.total,
          stoppedByBudget: false,
        };
      }
      const c = result.calibration;
      log(
        "info",
        `calibration written: ${result.path} (held-out AUC ${c.heldout.auc.toFixed(3)}, default weights ${c.heldout.defaultWeightsAuc?.toFixed(3) ?? "–"})`,
      );
      // The loaded engine read the old calibration (or none) when it loaded: the next request reloads and uses the new one.
      await dropEngine();
      return {
        status: "written",
        path: result.path,
        router: calibratedDescription(c),
        auc: c.heldout.auc,
        defaultWeightsAuc: c.heldout.defaultWeightsAuc,
        suggestedThreshold: c.suggestedThreshold,
        labels,
        done: result.resumed + result.newProblems,
        total: problems.length,
        stoppedByBudget: result.stoppedByBudget,
      };
    });
  }),
);

connection.onRequest(CancelRequest, (params) => {
  const id = parseParams(CancelParamsSchema, params).requestId;
  let n = 0;
  for (const [rid, ac] of [...controllers]) {
    if (id === undefined || rid === id) {
      if (!ac.signal.aborted) n++;
      ac.abort();
    }
  }
  return { cancelled: n };
});

connection.onRequest(
  LoadRequest,
  answering(async (params, token) => {
    const { config } = parseParams(LoadParamsSchema, params);
    return await enqueue(`load-${Date.now()}-${Math.random()}`, token, async (signal) => (await ensureLoaded(config, signal)).load);
  }),
);

connection.onRequest(
  UnloadRequest,
  answering(async () => {
    return await enqueue(`unload-${Date.now()}`, undefined, async () => {
      if (!(await dropEngine())) return { unloaded: false };
      log("info", "models unloaded");
      return { unloaded: true };
    });
  }),
);

connection.onRequest(StatusRequest, (): StatusResult => ({
  protocolVersion: PROTOCOL_VERSION,
  pid: process.pid,
  loaded: engineConfig,
  loading,
  running: current?.id ?? null,
  queued: queue.map((j) => j.id),
  rssBytes: process.memoryUsage().rss,
  uptimeMs: Date.now() - startedAt,
  served,
  loads,
}));

connection.onRequest(
  DownloadRequest,
  answering(async (params, token) => {
    const { downloadId, uri, dirPath, endpoint, stallMs } = parseParams(DownloadParamsSchema, params);
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    const path = await downloadModel({
      uri,
      dirPath,
      endpoint,
      stallMs: stallMs ?? DEFAULT_STALL_MS,
      signal: abort.signal,
      onProgress: (downloadedBytes, totalBytes) =>
        connection.sendNotification(DownloadProgressNotification, { downloadId, downloadedBytes, totalBytes }),
    });
    return { path };
  }),
);

connection.onShutdown(async () => {
  for (const ac of controllers.values()) ac.abort();
  await dropEngine().catch(() => undefined);
});

connection.listen();
log("info", `engine server started (pid ${process.pid}, node ${process.version})${extraBindings ? `; extra bindings from ${extraBindings}` : ""}`);
