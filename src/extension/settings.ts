/**
 * `arbitrage.*` settings -> validated ModelConfig / ReasonOptions, using the engine's own pure
 * validators (src/engine/options.ts; no node-llama-cpp). An invalid value produces one clear
 * message naming the setting, and the previous valid configuration stays in use.
 */
import * as vscode from "vscode";
import { defaultModelConfig, defaultReasonOptions, validateModelConfig, validateReasonOptions } from "../engine/options.js";
import { isArbitrageError } from "../engine/errors.js";
import type { ModelConfig, ReasonOptions } from "../engine/types.js";

export const SECTION = "arbitrage";

/** Setting key -> field of ModelConfig. */
const MODEL_KEYS = {
  draftModel: "draft",
  targetModel: "target",
  router: "router",
  scorer: "scorer",
  gpu: "gpu",
  gpuLayers: "gpuLayers",
  threads: "threads",
  contextSize: "contextSize",
} as const;

/** Setting key -> field of ReasonOptions. */
const OPTION_KEYS = {
  policy: "policy",
  threshold: "threshold",
  maxSteps: "maxSteps",
  maxTokensPerStep: "maxTokensPerStep",
  stepDelimiter: "stepDelimiter",
  temperature: "temperature",
  prefixReuse: "prefixReuse",
} as const;

/**
 * Names the engine's messages use ("Invalid <name>: ...") -> setting key. The engine names a
 * setting by its config field, except the two model paths, which it spells out.
 */
const MESSAGE_NAMES: Record<string, string> = {
  ...Object.fromEntries(Object.entries({ ...MODEL_KEYS, ...OPTION_KEYS }).map(([key, field]) => [field, key])),
  "draft model": "draftModel",
  "target model": "targetModel",
};

export interface SettingsSnapshot {
  model: ModelConfig;
  options: ReasonOptions;
}

export interface SettingsProblem {
  setting: string;
  message: string;
}

/** Values the user did not set are left out, so the engine's defaults apply. */
function readRaw(cfg: vscode.WorkspaceConfiguration, keys: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(keys)) {
    const i = cfg.inspect(key);
    const set = i && (i.globalValue !== undefined || i.workspaceValue !== undefined || i.workspaceFolderValue !== undefined);
    if (!set) continue;
    const v = cfg.get(key);
    if (v === undefined || v === null) continue;
    if (key === "threads" && v === 0) continue; // 0 = automatic
    if ((key === "draftModel" || key === "targetModel" || key === "router" || key === "scorer") && v === "") continue;
    out[field] = v;
  }
  return out;
}

function problemOf(e: unknown, fallbackSetting: string): SettingsProblem {
  const message = isArbitrageError(e) || e instanceof Error ? e.message : String(e);
  const m = /^Invalid ([^:]+):/.exec(message);
  const key = (m && MESSAGE_NAMES[m[1]!]) ?? fallbackSetting;
  return { setting: `${SECTION}.${key}`, message };
}

/** Reads and validates the current settings; throws nothing. */
export function readSettings(): { model: ModelConfig | SettingsProblem; options: ReasonOptions | SettingsProblem } {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  let model: ModelConfig | SettingsProblem;
  let options: ReasonOptions | SettingsProblem;
  try {
    model = validateModelConfig(readRaw(cfg, MODEL_KEYS));
  } catch (e) {
    model = problemOf(e, "draftModel");
  }
  try {
    options = validateReasonOptions(readRaw(cfg, OPTION_KEYS));
  } catch (e) {
    options = problemOf(e, "threshold");
  }
  return { model, options };
}

function isProblem(v: unknown): v is SettingsProblem {
  return typeof v === "object" && v !== null && "setting" in v && "message" in v;
}

export class Settings implements vscode.Disposable {
  private current: SettingsSnapshot = { model: defaultModelConfig(), options: defaultReasonOptions() };
  /** The last problem found (for tests and the status bar tooltip). */
  lastProblems: SettingsProblem[] = [];
  private readonly _onDidChangeModels = new vscode.EventEmitter<ModelConfig>();
  readonly onDidChangeModels = this._onDidChangeModels.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly showError: (message: string) => void = (m) => void vscode.window.showErrorMessage(m)) {
    this.reload(false);
    this.sub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) this.reload(true);
    });
  }

  get snapshot(): SettingsSnapshot {
    return this.current;
  }

  /** Re-reads the settings; invalid parts keep their previous valid values. */
  reload(notify: boolean): SettingsProblem[] {
    const r = readSettings();
    const problems: SettingsProblem[] = [];
    const prevModelKey = JSON.stringify(this.current.model);
    let model = this.current.model;
    let options = this.current.options;
    if (isProblem(r.model)) problems.push(r.model);
    else model = r.model;
    if (isProblem(r.options)) problems.push(r.options);
    else options = r.options;
    this.current = { model, options };
    this.lastProblems = problems;
    for (const p of problems) {
      this.showError(`Arbitrage: setting ${p.setting} is invalid — ${p.message} The previous valid value stays in use until it is fixed.`);
    }
    if (notify && JSON.stringify(model) !== prevModelKey) this._onDidChangeModels.fire(model);
    return problems;
  }

  dispose(): void {
    this.sub.dispose();
    this._onDidChangeModels.dispose();
  }
}
