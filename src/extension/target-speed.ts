/**
 * The target's measured ms per token, kept in globalState per pair: the speedup estimate of a
 * run that did too little target generating to measure it (summary.ts) uses the pair's last one.
 */
import type * as vscode from "vscode";
import type { ModelConfig } from "../engine/types.js";

const SPEED_KEY = "arbitrage.targetMsPerToken";

/** Per pair: another pair's speed would make the estimate meaningless. */
function speedKey(m: ModelConfig): string {
  return `${SPEED_KEY}:${JSON.stringify([m.draft, m.target, m.remote?.draft?.url ?? null, m.remote?.target?.url ?? null])}`;
}

export class TargetSpeeds {
  constructor(private readonly state: vscode.Memento) {}

  known(pair: ModelConfig): number | null {
    return this.state.get<number>(speedKey(pair)) ?? null;
  }

  async record(pair: ModelConfig, msPerToken: number): Promise<void> {
    await this.state.update(speedKey(pair), msPerToken);
  }
}
