/**
 * A fallback to the CPU as a notification, once per reason: each engine start repeats the same
 * reason, and "Don't Show Again" keeps it quiet until the reason changes (e.g. a driver is
 * installed and its device is missing).
 */
import * as vscode from "vscode";
import type { GpuReport } from "../engine/types.js";

/** The fallback reason the user asked not to be told about again (globalState). */
const GPU_NOTICE_DISMISSED_KEY = "arbitrage.gpuNoticeDismissed";

export class GpuNotices {
  private readonly shown = new Set<string>();

  constructor(
    private readonly state: vscode.Memento,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  /** Tells the user once why a load fell back to the CPU, if it did. */
  afterLoad(gpu: GpuReport): void {
    const reason = gpu.fallbackReason;
    if (!reason || this.shown.has(reason) || this.state.get<string>(GPU_NOTICE_DISMISSED_KEY) === reason) return;
    this.shown.add(reason);
    void vscode.window.showWarningMessage(`Arbitrage runs on the CPU. ${reason}`, "Show Engine Log", "Don't Show Again").then((choice) => {
      if (choice === "Show Engine Log") this.output.show(true);
      else if (choice === "Don't Show Again") void this.state.update(GPU_NOTICE_DISMISSED_KEY, reason);
    });
  }
}
