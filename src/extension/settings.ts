/**
 * `arbitrage.*` settings -> validated ModelConfig / ReasonOptions, with the engine's own schemas
 * (src/engine/options.ts; no node-llama-cpp) through the pure table of setting-keys.ts. Each
 * invalid value produces one clear message naming its setting, and the previous valid
 * configuration stays in use.
 */
import * as vscode from "vscode";
import { defaultModelConfig, defaultReasonOptions } from "../engine/options.js";
import type { ModelConfig, ReasonOptions } from "../engine/types.js";
import { checkSettings, MODEL_SETTINGS, OPTION_SETTINGS, SECTION, type SettingsProblem } from "./setting-keys.js";
import { Disposable } from "./dispose.js";

export { SECTION, type SettingsProblem } from "./setting-keys.js";

/** A setting key of `arbitrage.*` (without the section). */
export type SettingKey = keyof typeof MODEL_SETTINGS | keyof typeof OPTION_SETTINGS;

/** The pair that "Select Models…" and "Download Recommended Models" write. */
export interface PairChoice {
  draft: string;
  target: string;
  router: string;
}

export interface SettingsSnapshot {
  model: ModelConfig;
  options: ReasonOptions;
}

/** A setting's value where the user set it (user, workspace or folder), else undefined (the default applies). */
function userValue(cfg: vscode.WorkspaceConfiguration, key: string): unknown {
  const i = cfg.inspect(key);
  const set = i && (i.globalValue !== undefined || i.workspaceValue !== undefined || i.workspaceFolderValue !== undefined);
  return set ? cfg.get(key) : undefined;
}

/** Reads and validates the current settings; throws nothing. */
function readSettings(): ReturnType<typeof checkSettings> {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  return checkSettings((key) => userValue(cfg, key));
}

export class Settings extends Disposable {
  private current: SettingsSnapshot = { model: defaultModelConfig(), options: defaultReasonOptions() };
  /** The last problem found (for tests and the status bar tooltip). */
  lastProblems: SettingsProblem[] = [];
  private readonly _onDidChangeModels = this.register(new vscode.EventEmitter<ModelConfig>());
  readonly onDidChangeModels = this._onDidChangeModels.event;
  /** Writes of `update` in progress: their change events wait for the last one. */
  private writing = 0;

  constructor(private readonly showError: (message: string) => void = (m) => void vscode.window.showErrorMessage(m)) {
    super();
    this.reload(false);
    this.register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION) && this.writing === 0) this.reload(true);
      }),
    );
  }

  get snapshot(): SettingsSnapshot {
    return this.current;
  }

  /**
   * Writes several user settings as one change. Each write fires its own configuration event,
   * and with warm models every model change reloads them: a pair written key by key would first
   * load a mixed pair (new draft, old target), a wasted multi-GB load on real models. So the
   * settings are read, and `onDidChangeModels` fires, once, after the last write.
   */
  async update(values: Partial<Record<SettingKey, unknown>>): Promise<void> {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    this.writing++;
    try {
      for (const [key, value] of Object.entries(values)) await cfg.update(key, value, vscode.ConfigurationTarget.Global);
    } finally {
      if (--this.writing === 0) this.reload(true);
    }
  }

  /** Selects a draft/target pair and its router as one change (one reload of warm models). */
  selectPair({ draft, target, router }: PairChoice): Promise<void> {
    return this.update({ draftModel: draft, targetModel: target, router });
  }

  /** Re-reads the settings; invalid parts keep their previous valid values. */
  reload(notify: boolean): SettingsProblem[] {
    const r = readSettings();
    const problems: SettingsProblem[] = [];
    const prevModelKey = JSON.stringify(this.current.model);
    let model = this.current.model;
    let options = this.current.options;
    if (Array.isArray(r.model)) problems.push(...r.model);
    else model = r.model;
    if (Array.isArray(r.options)) problems.push(...r.options);
    else options = r.options;
    this.current = { model, options };
    this.lastProblems = problems;
    for (const p of problems) {
      this.showError(`Arbitrage: setting ${p.setting} is invalid — ${p.message} The previous valid value stays in use until it is fixed.`);
    }
    if (notify && JSON.stringify(model) !== prevModelKey) this._onDidChangeModels.fire(model);
    return problems;
  }
}
