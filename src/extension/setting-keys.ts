/**
 * `arbitrage.*` setting keys ⇄ the engine's ModelConfig / ReasonOptions fields, and the settings
 * → validated config step itself. Pure (no `vscode` import) so unit tests and the package.json
 * defaults test read the same table the extension uses. An invalid value is mapped back to its
 * setting by the issue's path (its first key is the field), never by reading the message.
 */
import { checkModelConfig, checkReasonOptions, type Checked, type OptionIssue } from "../engine/options.js";
import type { ModelConfig, ReasonOptions } from "../engine/types.js";

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

/** Setting key -> field of ReasonOptions. */
export const OPTION_SETTINGS = {
  policy: "policy",
  threshold: "threshold",
  maxSteps: "maxSteps",
  maxTokensPerStep: "maxTokensPerStep",
  stepDelimiter: "stepDelimiter",
  temperature: "temperature",
  prefixReuse: "prefixReuse",
} as const satisfies Record<string, keyof ReasonOptions>;

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
  const key = Object.keys(table).find((k) => table[k] === field);
  return key === undefined ? SECTION : `${SECTION}.${key}`;
}

function problems<T>(table: SettingTable, r: Checked<T>): T | SettingsProblem[] {
  return r.ok ? r.value : r.issues.map((issue) => ({ setting: settingOf(table, issue), message: issue.message }));
}

/** Validated settings, or for each part every invalid setting with its message. Throws nothing. */
export function checkSettings(read: (key: string) => unknown): {
  model: ModelConfig | SettingsProblem[];
  options: ReasonOptions | SettingsProblem[];
} {
  return {
    model: problems(MODEL_SETTINGS, checkModelConfig(fieldsFromSettings(MODEL_SETTINGS, read))),
    options: problems(OPTION_SETTINGS, checkReasonOptions(fieldsFromSettings(OPTION_SETTINGS, read))),
  };
}
