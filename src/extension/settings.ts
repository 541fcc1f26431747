/**
 * `arbitrage.*` settings -> validated ModelConfig / ReasonOptions, with the engine's own schemas
 * (src/engine/options.ts; no node-llama-cpp) through the pure table of setting-keys.ts. Each
 * invalid value produces one clear message naming its setting, and the previous valid
 * configuration stays in use.
 */
import * as vscode from "vscode";
import { defaultModelConfig, defaultReasonOptions } from "../engine/options.js";
import type { ModelConfig, ReasonOptions } from "../engine/types.js";
import { checkSettings, SECTION, type SettingsProblem } from "./setting-keys.js";
import { Disposable } from "./dispose.js";

export { SECTION, type SettingsProblem } from "./setting-keys.js";

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

  constructor(private readonly showError: (message: string) => void = (m) => void vscode.window.showErrorMessage(m)) {
    super();
    this.reload(false);
    this.register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) this.reload(true);
      }),
    );
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
