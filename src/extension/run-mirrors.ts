/**
 * Mirrors of recent chat and language-model runs: the panel state each would show, folded from
 * its events by the same reducer as the panel's, so "Open in Arbitrage panel" can show the run.
 */
import type { PanelState } from "../protocol/index.js";

/** The newest runs kept; older mirrors are dropped. */
const KEPT = 20;

export class RunMirrors {
  private readonly runs = new Map<string, PanelState>();

  remember(runId: string, state: PanelState): void {
    this.runs.set(runId, state);
    while (this.runs.size > KEPT) this.runs.delete(this.runs.keys().next().value!);
  }

  get(runId: string): PanelState | undefined {
    return this.runs.get(runId);
  }
}
