import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import * as v from "valibot";
import { LIMITS, MODEL_DEFAULTS, REASON_DEFAULTS, defaultReasonOptions, defaultThreadsFor, modelDefaultsFor } from "./defaults.js";
import { ArbitrageError } from "./errors.js";
import {
  GPU_CHOICES,
  POLICIES,
  POLICY_SETTINGS,
  PROMPT_STYLES,
  REMOTE_APIS,
  type ModelConfig,
  type ModelRole,
  type Policy,
  type ReasonOptions,
} from "./types.js";

/**
 * Validation of everything a user can set, as valibot schemas over the defaults of defaults.ts.
 * The same schemas guard the CLI flags, the engine protocol and the VS Code settings, so each
 * message names the setting, shows the bad value and says what is allowed; each issue also
 * carries its path (["threshold"], ["router", "path"]), which the VS Code side maps to the
 * setting key without reading the message.
 */

export { defaultReasonOptions } from "./defaults.js";

/** Threads when none are set: this machine's cores − 1, at least 1, at most 8 (defaults.ts says why). */
export function defaultThreads(): number {
  return defaultThreadsFor(availableParallelism());
}

export function defaultModelConfig(): ModelConfig {
  return modelDefaultsFor(availableParallelism());
}

/** One invalid value: where it is (object keys from the root) and what to do about it. */
export interface OptionIssue {
  path: string[];
  message: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; issues: OptionIssue[] };

/** How a bad value is quoted in a message: strings and objects as JSON (cut short), the rest as is. */
function showValue(value: unknown): string {
  if (typeof value === "string" || (typeof value === "object" && value !== null)) {
    let json: string;
    try {
      json = JSON.stringify(value) ?? String(value);
    } catch {
      json = Object.prototype.toString.call(value); // a cycle or a BigInt inside: no JSON form
    }
    return json.length > 120 ? `${json.slice(0, 117)}...` : json;
  }
  return String(value);
}

/** Every issue inside `schema` gets the message "Invalid <label>: <value>. <hint>" unless its check has its own. */
function field<S extends v.GenericSchema>(label: string, hint: string, schema: S) {
  return v.message(schema, (issue) => `Invalid ${label}: ${showValue(issue.input)}. ${hint}`);
}

function wholeNumber(name: keyof typeof LIMITS) {
  const { min, max } = LIMITS[name];
  return field(name, `Use a whole number from ${min} to ${max}.`, v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max)));
}

function numberIn(name: keyof typeof LIMITS, hint: string) {
  const { min, max } = LIMITS[name];
  return field(name, hint, v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max)));
}

function oneOf<const T extends string>(name: string, choices: readonly T[]) {
  return field(name, `Use one of: ${choices.join(", ")}.`, v.picklist(choices));
}

/** An absolute path; a relative one is refused with the reason (it would resolve against an unrelated folder). */
function absoluteFile(label: string) {
  return v.pipe(
    v.string(),
    v.check((s) => s.trim() !== ""),
    v.check(
      isAbsolute,
      (issue) =>
        `Invalid ${label}: ${showValue(issue.input)}. Model paths must be absolute (relative paths would resolve against an unrelated folder).`,
    ),
  );
}

/** "embedded" or the absolute path of a GGUF file. */
function modelFile(label: string) {
  return field(label, 'Use "embedded" or the absolute path of a .gguf file.', v.union([v.literal("embedded"), absoluteFile(label)]));
}

/** A named judge, `{path}`, or a bare absolute path (→ `{path}`). */
function judge<const T extends string>(name: string, named: readonly T[], hint: string) {
  return field(
    name,
    hint,
    v.union([
      v.picklist(named),
      v.strictObject({ path: absoluteFile(name) }),
      v.pipe(
        v.string(),
        v.check(isAbsolute),
        v.transform((path) => ({ path })),
      ),
    ]),
  );
}

const router = judge(
  "router",
  ["embedded", "confidence", "random"],
  'Use "embedded", "confidence", "random" or the absolute path of a router .gguf file.',
);
const scorer = judge("scorer", ["embedded", "exact"], 'Use "embedded", "exact" or the absolute path of a PRM .gguf file.');
const threshold = numberIn("threshold", "Use a number from 0 to 1 (higher sends fewer steps to the target).");
const policy = oneOf("policy", POLICY_SETTINGS);

/**
 * An object of known keys only (an unknown key is usually a typo, so it is named with the known
 * ones); arrays and other values are refused as a whole.
 */
function settingsObject<E extends v.ObjectEntries>(what: string, keyKind: string, entries: E) {
  const known = Object.keys(entries).join(", ");
  const message = (issue: v.BaseIssue<unknown>) =>
    issue.expected === "never"
      ? `Invalid ${keyKind} name: ${showValue(issue.input)}. Known ${keyKind}s: ${known}.`
      : `Invalid ${what}: ${showValue(issue.input)}. Expected an object.`;
  return notArray(v.strictObject(entries, message), message);
}

/**
 * An object (arrays refused) whose own issues — not an object, a key missing — get the message
 * `messageFor(key)`: the missing key's, or `messageFor(undefined)` when the value is no object.
 */
export function recordOf<E extends v.ObjectEntries>(entries: E, messageFor: (key: string | undefined) => string) {
  const message = (issue: v.BaseIssue<unknown>) => {
    const key = issue.path?.[0]?.key;
    return messageFor(typeof key === "string" ? key : undefined);
  };
  return notArray(v.object(entries, message), message);
}

/** `schema` (an object schema) that also refuses arrays, which valibot's object schemas accept as objects. */
export function notArray<S extends v.GenericSchema<object>>(schema: S, message: v.ErrorMessage<v.CustomIssue>) {
  return v.pipe(
    v.custom<object>((x) => typeof x === "object" && x !== null && !Array.isArray(x), message),
    schema,
  );
}

function httpUrl(text: string): URL | null {
  try {
    const u = new URL(text);
    return u.protocol === "http:" || u.protocol === "https:" ? u : null;
  } catch {
    return null;
  }
}

/** Remote server timeouts: from a tenth of a second to an hour. */
const REMOTE_TIMEOUT_MS = { min: 100, max: 3_600_000 };

/** A model on a serving engine: its base URL, and optionally its name there, a timeout and the API dialect. */
function remoteModel(role: ModelRole) {
  const label = `${role} server URL`;
  return settingsObject(`remote ${role}`, `remote ${role} setting`, {
    url: v.pipe(
      field(
        label,
        "Use the server's http:// or https:// base URL, e.g. http://127.0.0.1:8080.",
        v.pipe(
          v.string(),
          v.check((s) => httpUrl(s) !== null),
        ),
      ),
      // Credentials in a URL would land in settings and logs; the message does not echo them.
      v.check((s) => {
        const u = httpUrl(s)!;
        return u.username === "" && u.password === "";
      }, `Invalid ${label}: it holds credentials. Put the API key in ARBITRAGE_API_KEY (or ARBITRAGE_${role.toUpperCase()}_API_KEY), not in the URL.`),
    ),
    model: v.optional(field(`${role} model name`, "Use the name the server lists in its /v1/models.", v.pipe(v.string(), v.nonEmpty()))),
    timeoutMs: v.optional(
      field(
        `${role} server timeout (ms)`,
        `Use a whole number from ${REMOTE_TIMEOUT_MS.min} to ${REMOTE_TIMEOUT_MS.max}.`,
        v.pipe(v.number(), v.integer(), v.minValue(REMOTE_TIMEOUT_MS.min), v.maxValue(REMOTE_TIMEOUT_MS.max)),
      ),
    ),
    api: v.optional(oneOf(`${role} server API`, REMOTE_APIS)),
  });
}

/** A partial model configuration over the defaults. */
export const ModelConfigSchema = settingsObject("model configuration", "model setting", {
  draft: v.optional(modelFile("draft model"), MODEL_DEFAULTS.draft),
  target: v.optional(modelFile("target model"), MODEL_DEFAULTS.target),
  router: v.optional(router, MODEL_DEFAULTS.router),
  scorer: v.optional(scorer, MODEL_DEFAULTS.scorer),
  gpu: v.optional(oneOf("gpu", GPU_CHOICES), MODEL_DEFAULTS.gpu),
  gpuLayers: v.optional(
    v.union(
      [v.literal("auto"), wholeNumber("gpuLayers")],
      (issue) =>
        `Invalid gpuLayers: ${showValue(issue.input)}. Use "auto" or a whole number from ${LIMITS.gpuLayers.min} to ${LIMITS.gpuLayers.max}.`,
    ),
    MODEL_DEFAULTS.gpuLayers,
  ),
  threads: v.optional(wholeNumber("threads"), defaultThreads),
  contextSize: v.optional(wholeNumber("contextSize"), MODEL_DEFAULTS.contextSize),
  remote: v.optional(
    settingsObject("remote", "remote model role", { draft: v.optional(remoteModel("draft")), target: v.optional(remoteModel("target")) }),
  ),
});

/** Partial request options over the defaults; `router`/`scorer` override the loaded ones for one request. */
export const ReasonOptionsSchema = settingsObject("request options", "option", {
  policy: v.optional(policy, REASON_DEFAULTS.policy),
  threshold: v.optional(threshold, REASON_DEFAULTS.threshold),
  maxSteps: v.optional(wholeNumber("maxSteps"), REASON_DEFAULTS.maxSteps),
  maxTokensPerStep: v.optional(wholeNumber("maxTokensPerStep"), REASON_DEFAULTS.maxTokensPerStep),
  stepDelimiter: v.optional(
    field("stepDelimiter", 'Use a non-empty string such as "\\n\\n".', v.pipe(v.string(), v.nonEmpty())),
    REASON_DEFAULTS.stepDelimiter,
  ),
  temperature: v.optional(numberIn("temperature", "Use a number from 0 (greedy) to 2."), REASON_DEFAULTS.temperature),
  prefixReuse: v.optional(field("prefixReuse", "Use true or false.", v.boolean()), REASON_DEFAULTS.prefixReuse),
  speculativeDraft: v.optional(field("speculativeDraft", "Use true or false.", v.boolean()), REASON_DEFAULTS.speculativeDraft),
  tokenSpeculation: v.optional(field("tokenSpeculation", "Use true or false.", v.boolean()), REASON_DEFAULTS.tokenSpeculation),
  draftTokens: v.optional(wholeNumber("draftTokens"), REASON_DEFAULTS.draftTokens),
  promptStyle: v.optional(oneOf("promptStyle", PROMPT_STYLES), REASON_DEFAULTS.promptStyle),
  finalAnswerMarker: v.optional(field("finalAnswerMarker", "Use a string (empty disables it).", v.string()), REASON_DEFAULTS.finalAnswerMarker),
  router: v.optional(router),
  scorer: v.optional(scorer),
});

/** Runs a schema, reporting every invalid value (the first issue of each) with its path. */
export function check<S extends v.GenericSchema>(schema: S, input: unknown): Checked<v.InferOutput<S>> {
  const r = v.safeParse(schema, input, { abortPipeEarly: true });
  if (r.success) return { ok: true, value: r.output };
  return { ok: false, issues: r.issues.map((i) => ({ path: issuePath(i), message: i.message })) };
}

/** Object keys from the root to the issue (valibot's structured path). */
export function issuePath(issue: v.BaseIssue<unknown>): string[] {
  return (issue.path ?? []).map((p) => String(p.key));
}

/** Like `check`, but throws the first issue as an `invalid-option` error carrying its path. */
export function parseOrThrow<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const r = check(schema, input);
  if (r.ok) return r.value;
  const first = r.issues[0]!;
  throw new ArbitrageError("invalid-option", first.message, { path: first.path });
}

export function checkModelConfig(partial: unknown): Checked<ModelConfig> {
  return check(ModelConfigSchema, partial ?? {});
}

export function checkReasonOptions(partial: unknown): Checked<ReasonOptions> {
  return check(ReasonOptionsSchema, partial ?? {});
}

/** Validates a partial model config over the defaults. Unknown keys are rejected (they are usually typos). */
export function validateModelConfig(partial: unknown): ModelConfig {
  if (partial === undefined || partial === null) return defaultModelConfig();
  return parseOrThrow(ModelConfigSchema, partial);
}

/** Validates partial request options over the defaults. */
export function validateReasonOptions(partial: unknown): ReasonOptions {
  if (partial === undefined || partial === null) return defaultReasonOptions();
  return parseOrThrow(ReasonOptionsSchema, partial);
}

export function checkThreshold(value: unknown): number {
  return parseOrThrow(threshold, value);
}

/** One concrete policy (the bench compares policies; `auto` only chooses among them). */
export function checkPolicy(value: unknown): Policy {
  return parseOrThrow(oneOf("policy", POLICIES), value);
}
