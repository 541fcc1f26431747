import { existsSync } from "node:fs";
import * as vscode from "vscode";
import { isArbitrageError } from "../protocol/index.js";
import type { EngineClient } from "./engineClient.js";
import type { Settings } from "./settings.js";

/**
 * "Arbitrage: Calibrate Router…": fits the confidence router to the selected pair on a problem
 * file with known answers. It runs in the engine process (src/engine/calibration), shows its
 * progress in a cancellable notification, and the engine writes the result into the calibration
 * folder in the extension's global storage, where it is used for that pair from then on.
 */
export async function calibrateRouter(engine: EngineClient, settings: Settings, extensionUri: vscode.Uri): Promise<void> {
  const bundled = vscode.Uri.joinPath(extensionUri, "bench", "problems", "calibration-embedded.jsonl");
  const items: Array<vscode.QuickPickItem & { uri?: vscode.Uri }> = [];
  if (existsSync(bundled.fsPath))
    items.push({ label: "Bundled arithmetic set", detail: "240 problems of the embedded task (calibration-embedded.jsonl)", uri: bundled });
  items.push({ label: "Choose a JSONL problem file…", detail: 'One {"question": ..., "answer": ...} per line' });
  const pick = await vscode.window.showQuickPick(items, {
    title: "Arbitrage: Calibrate Router",
    placeHolder: "Problems with known answers for the selected pair",
  });
  if (!pick) return;
  const file =
    pick.uri ??
    (
      await vscode.window.showOpenDialog({
        canSelectMany: false,
        openLabel: "Calibrate on these problems",
        title: "Arbitrage: problem file (.jsonl)",
        filters: { "JSON Lines": ["jsonl"] },
      })
    )?.[0];
  if (!file) return;
  const config = settings.snapshot.model;
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Arbitrage: calibrating the router", cancellable: true },
      (progress, token) => {
        let last = 0;
        return engine.calibrate(
          { config, problemsPath: file.fsPath },
          (p) => {
            const eta = p.etaMs === null ? "" : `, ETA ${Math.max(1, Math.round(p.etaMs / 60_000))} min`;
            const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
            progress.report({ message: `${p.done}/${p.total} problems, ${p.rows} steps labelled${eta}`, increment: pct - last });
            last = pct;
          },
          token,
        );
      },
    );
    if (r.status === "cancelled") {
      void vscode.window.showInformationMessage(
        `Arbitrage: calibration cancelled after ${r.done}/${r.total} problems; run it again to resume where it stopped.`,
      );
      return;
    }
    // The embedded pair routes with its trained router unless the confidence router is chosen.
    const hint = config.router === "confidence" ? "" : ' It applies when arbitrage.router is "confidence".';
    void vscode.window.showInformationMessage(
      `Arbitrage: router: ${r.router} (default weights ${r.defaultWeightsAuc?.toFixed(2) ?? "–"}); suggested threshold ${r.suggestedThreshold?.toPrecision(2)}.${r.stoppedByBudget ? ` The budget ended after ${r.done}/${r.total} problems.` : ""}${hint}`,
    );
  } catch (e) {
    if (isArbitrageError(e, "cancelled")) return;
    void vscode.window.showErrorMessage(`Arbitrage: calibration failed — ${e instanceof Error ? e.message : String(e)}`);
  }
}
