/**
 * The engine server's checks of request params (src/protocol declares their types), as valibot
 * schemas built on the engine's own option schemas: a bad config or option is reported with the
 * engine's message and its path (["config", "threads"]), a bad param with one naming the method.
 * Kept out of src/protocol because the option schemas need `node:` modules (paths, core count)
 * and the protocol module is also bundled into the webview.
 */
import * as v from "valibot";
import { ModelConfigSchema, ReasonOptionsSchema, check, recordOf } from "../engine/options.js";
import { ResponseError } from "vscode-languageserver/node.js";
import { ArbitrageError } from "../engine/errors.js";
import { RpcErrorCodes, type EngineErrorData } from "../protocol/index.js";

/** An object of params; a missing or wrong field gets that field's sentence, a non-object the method's. */
function params<E extends v.ObjectEntries>(method: string, entries: E, needs: Partial<Record<keyof E & string, string>>) {
  return recordOf(entries, (key) => {
    const sentence = key === undefined ? undefined : needs[key as keyof E & string];
    return `${method}: ${sentence ?? "params must be an object."}`;
  });
}

function text(method: string, sentence: string, nonEmpty: boolean) {
  const message = `${method}: ${sentence}`;
  return nonEmpty ? v.pipe(v.string(message), v.nonEmpty(message)) : v.string(message);
}

const REQUEST_ID = "requestId must be a non-empty string.";
const QUESTION = "question must be a string.";
const DOWNLOAD = "downloadId, uri and dirPath must be non-empty strings.";

/** A missing or null config means the defaults, as the engine's own `validateModelConfig` does. */
const config = v.nullish(ModelConfigSchema, {});

export const ReasonParamsSchema = params(
  "reason",
  {
    requestId: text("reason", REQUEST_ID, true),
    question: text("reason", QUESTION, false),
    config,
    options: v.nullish(ReasonOptionsSchema, {}),
  },
  { requestId: REQUEST_ID, question: QUESTION },
);

export const LoadParamsSchema = params("load", { config }, {});

/** No params (or no requestId) cancels everything; a requestId that is not a string is refused, not widened to "all". */
export const CancelParamsSchema = v.nullish(
  params("cancel", { requestId: v.optional(text("cancel", "requestId must be a string.", false)) }, { requestId: "requestId must be a string." }),
  {},
);

const ENDPOINT = "endpoint must be an http(s) URL.";
const STALL = "stallMs must be a number of milliseconds, at least 100.";

export const DownloadParamsSchema = params(
  "download",
  {
    downloadId: text("download", DOWNLOAD, true),
    uri: text("download", DOWNLOAD, true),
    dirPath: text("download", DOWNLOAD, true),
    endpoint: v.optional(v.pipe(v.string(`download: ${ENDPOINT}`), v.regex(/^https?:\/\/[^/]/, `download: ${ENDPOINT}`))),
    stallMs: v.optional(v.pipe(v.number(`download: ${STALL}`), v.finite(`download: ${STALL}`), v.minValue(100, `download: ${STALL}`))),
  },
  { downloadId: DOWNLOAD, uri: DOWNLOAD, dirPath: DOWNLOAD, endpoint: ENDPOINT, stallMs: STALL },
);

/**
 * The params, or throws the InvalidParams reply: the first issue's message, and as data the
 * `invalid-option` ArbitrageError with its path (what the client rebuilds).
 */
export function parseParams<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const r = check(schema, input);
  if (r.ok) return r.value;
  const first = r.issues[0]!;
  const error = new ArbitrageError("invalid-option", first.message, { path: first.path });
  throw new ResponseError<EngineErrorData>(RpcErrorCodes.InvalidParams, error.message, error.toJSON());
}

const CALIBRATE = "requestId and problemsPath must be non-empty strings.";
const BUDGET = "budgetMinutes must be a number above 0.";
export const CalibrateParamsSchema = params(
  "calibrate",
  {
    requestId: text("calibrate", CALIBRATE, true),
    config,
    problemsPath: text("calibrate", CALIBRATE, true),
    budgetMinutes: v.optional(v.pipe(v.number(`calibrate: ${BUDGET}`), v.gtValue(0, `calibrate: ${BUDGET}`))),
  },
  { requestId: CALIBRATE, problemsPath: CALIBRATE, budgetMinutes: BUDGET },
);
