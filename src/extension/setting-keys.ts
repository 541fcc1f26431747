/**
 * `arbitrage.*` setting keys ⇄ the engine's ModelConfig / ReasonOptions fields, and the settings
 * → validated config step itself. Pure (no `vscode` import) so unit tests and the package.json
 * defaults test read the same table the extension uses. An invalid value is mapped back to its
 * setting by the issue's path (its first key is the field), never by reading the message.
 */
import { checkModelConfig, checkReasonOptions, type Checked, type OptionIssue } from "../engine/options.js";
import type { ModelConfig, ReasonOptions } from "../engine/types.js";
import { httpBaseUrlOf } from "../shared/http-base-url.js";

export const SECTION = "arbitrage";

/** Setting key -> field of ModelConfig. */
export const MODEL_SETTINGS = {
  draftModel: "draft",
  targetModel: "target",
  router: "router",
  scorer: "scorer",
  gpu: "gpu",
  gpuLayers: "gpuLayers",
  threads: "threads",
  contextSize: "contextSize",
} as const satisfies Record<string, keyof ModelConfig>;

/**
 * Setting key -> where it goes in ModelConfig.remote (a model on a serving engine): the role and
 * the field. An empty URL means the model runs here. API keys are no setting (SecretStorage →
 * the engine process's environment, see main.ts).
 */
export const REMOTE_SETTINGS = {
  targetUrl: ["target", "url"],
  targetModelName: ["target", "model"],
  draftUrl: ["draft", "url"],
  draftModelName: ["draft", "model"],
} as const satisfies Record<string, readonly ["draft" | "target", "url" | "model"]>;

/** ModelConfig.remote from the remote settings the user set (a role only when its URL is set). */
export function remoteFromSettings(read: (key: string) => unknown): Record<string, Record<string, unknown>> | undefined {
  const remote: Record<string, Record<string, unknown>> = {};
  for (const [key, [role, field]] of Object.entries(REMOTE_SETTINGS)) {
    const value = read(key);
    if (value === undefined || value === null || value === "") continue;
    (remote[role] ??= {})[field] = value;
  }
  // A model name without a URL would be refused as a remote without url; it means nothing until a URL is set.
  for (const role of Object.keys(remote)) if (remote[role]!.url === undefined) delete remote[role];
  return Object.keys(remote).length > 0 ? remote : undefined;
}

/** Setting key -> field of ReasonOptions. */
export const OPTION_SETTINGS = {
  policy: "policy",
  threshold: "threshold",
  maxSteps: "maxSteps",
  maxTokensPerStep: "maxTokensPerStep",
  stepDelimiter: "stepDelimiter",
  temperature: "temperature",
  prefixReuse: "prefixReuse",
  tokenSpeculation: "tokenSpeculation",
  draftTokens: "draftTokens",
} as const satisfies Record<string, keyof ReasonOptions>;

/** Settings the extension host reads itself: they are not engine options. */
export const HOST_SETTINGS = ["modelMirror", "npmRegistry"] as const;

/**
 * `arbitrage.modelMirror` -> the base URL "Download Recommended Models" uses instead of the hub's
 * (undefined when empty), or the problem to show: it must be an http(s) URL.
 */
export function modelMirrorOf(value: unknown): { endpoint: string | undefined } | { problem: string } {
  const r = httpBaseUrlOf(`${SECTION}.modelMirror`, value, "a mirror of the model hub", "https://models.example.com/");
  return "problem" in r ? r : { endpoint: r.url };
}

type SettingTable = Readonly<Record<string, string>>;

/**
 * Setting values that mean "the engine's default": `threads` 0 (automatic: the engine's
 * cores − 1 rule) and an empty model path or judge.
 */
const AUTOMATIC: Readonly<Record<string, unknown>> = { threads: 0, draftModel: "", targetModel: "", router: "", scorer: "" };

export interface SettingsProblem {
  /** Full setting id, e.g. "arbitrage.threshold". */
  setting: string;
  message: string;
}

/**
 * The values the user set, keyed by engine field. `read` returns a setting's user value, or
 * undefined when it is not set; unset and automatic values are left out so the defaults apply.
 */
export function fieldsFromSettings(table: SettingTable, read: (key: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(table)) {
    const value = read(key);
    if (value === undefined || value === null || (key in AUTOMATIC && value === AUTOMATIC[key])) continue;
    out[field] = value;
  }
  return out;
}

/** The setting an issue belongs to: the key whose field is the first element of the issue's path. */
export function settingOf(table: SettingTable, issue: OptionIssue): string {
  const field = issue.path[0];
  if (field === "remote") {
    const [, role, name] = issue.path;
    const key = Object.keys(REMOTE_SETTINGS).find((k) => {
      const [r, f] = REMOTE_SETTINGS[k as keyof typeof REMOTE_SETTINGS];
      return r === role && f === name;
    });
    return `${SECTION}.${key ?? `${role ?? "target"}Url`}`;
  }
  const key = Object.keys(table).find((k) => table[k] === field);
  return key === undefined ? SECTION : `${SECTION}.${key}`;
}

function problems<T>(table: SettingTable, r: Checked<T>): T | SettingsProblem[] {
  return r.ok ? r.value : r.issues.map((issue) => ({ setting: settingOf(table, issue), message: issue.message }));
}

function modelFields(read: (key: string) => unknown): Record<string, unknown> {
  const fields = fieldsFromSettings(MODEL_SETTINGS, read);
  const remote = remoteFromSettings(read);
  return remote ? { ...fields, remote } : fields;
}

/** Validated settings, or for each part every invalid setting with its message. Throws nothing. */
export function checkSettings(read: (key: string) => unknown): {
  model: ModelConfig | SettingsProblem[];
  options: ReasonOptions | SettingsProblem[];
} {
  return {
    model: problems(MODEL_SETTINGS, checkModelConfig(modelFields(read))),
    options: problems(OPTION_SETTINGS, checkReasonOptions(fieldsFromSettings(OPTION_SETTINGS, read))),
  };
}
