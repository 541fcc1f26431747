/**
 * The "Arbitrage" webview panel. The host keeps a mirror of the panel state (committed steps,
 * discarded drafts, result) so the webview can be rebuilt at any time: on "ready" the host sends
 * `restore`; after a window reload `registerWebviewPanelSerializer` hands back the state the
 * webview saved with `setState`.
 *
 * Security: the webview renders untrusted model text. CSP is `default-src 'none'` with a nonce
 * for the one script, styles/fonts only from the extension's dist/webview folder, command URIs
 * off, local resources limited to dist/webview. The script escapes/sanitises all model text.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { REASON_DEFAULTS } from "../engine/defaults.js";
import type { EngineEvent } from "../engine/types.js";
import { formatThreshold, thresholdStep } from "../shared/scores.js";
import { Disposable } from "./dispose.js";
import {
  coerceState,
  emptyPanelState,
  isCurrentRun,
  parseWebviewMessage,
  reducePanel,
  type CodeBlockAction,
  type EngineErrorData,
  type HostToWebview,
  type PanelState,
  type RunInfo,
  type WebviewToHost,
} from "../protocol/index.js";

export const PANEL_VIEW_TYPE = "arbitrage.panel";

export interface PanelHandlers {
  rerun(threshold: number): void;
  stop(): void;
  showLog(): void;
  /** A button of the answer's code block number `block` (code-requests.ts). */
  codeBlock(action: CodeBlockAction, block: number): void;
}

export class ArbitragePanel extends Disposable {
  static current: ArbitragePanel | undefined;
  private readyResolve!: () => void;
  /** Resolves once the webview script has started and asked for its state. */
  ready: Promise<void>;
  state: PanelState;

  static show(extensionUri: vscode.Uri, handlers: PanelHandlers, preserveFocus = false): ArbitragePanel {
    if (ArbitragePanel.current) {
      ArbitragePanel.current.panel.reveal(undefined, preserveFocus);
      return ArbitragePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      "Arbitrage",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      webviewOptions(extensionUri),
    );
    ArbitragePanel.current = new ArbitragePanel(panel, extensionUri, handlers, emptyPanelState());
    return ArbitragePanel.current;
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, handlers: PanelHandlers, saved: unknown): ArbitragePanel {
    ArbitragePanel.current?.dispose();
    panel.webview.options = webviewOptions(extensionUri);
    ArbitragePanel.current = new ArbitragePanel(panel, extensionUri, handlers, coerceState(saved));
    return ArbitragePanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly handlers: PanelHandlers,
    state: PanelState,
  ) {
    super();
    this.state = state;
    this.ready = new Promise((r) => (this.readyResolve = r));
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "icon.svg");
    panel.webview.html = renderHtml(panel.webview, extensionUri);
    this.register(panel.onDidDispose(() => this.dispose()));
    this.register(panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)));
  }

  private onMessage(raw: unknown): void {
    const m: WebviewToHost | null = parseWebviewMessage(raw);
    if (!m) return; // ignore anything malformed: the webview is not trusted either
    switch (m.type) {
      case "ready":
        this.send({ type: "restore", state: this.state });
        this.readyResolve();
        break;
      case "rerun":
        this.handlers.rerun(m.threshold);
        break;
      case "stop":
        this.handlers.stop();
        break;
      case "show-log":
        this.handlers.showLog();
        break;
      case "code-block":
        this.handlers.codeBlock(m.action, m.block);
        break;
    }
  }

  /**
   * Every message to the webview goes through here: the mirror folds it with the same reducer the
   * webview uses (src/protocol/panel-state.ts), then it is posted.
   */
  private send(m: HostToWebview): void {
    this.state = reducePanel(this.state, m);
    void this.panel.webview.postMessage(m);
  }

  startRun(run: RunInfo): void {
    this.send({ type: "run-started", run });
  }

  /** Forwards one engine event of the panel's run (a replaced run's late events are not posted). */
  event(runId: string, event: EngineEvent): void {
    if (isCurrentRun(this.state, runId)) this.send({ type: "engine-event", runId, event });
  }

  fail(runId: string, error: EngineErrorData): void {
    if (isCurrentRun(this.state, runId)) this.send({ type: "run-failed", runId, error });
  }

  /** Shows a stored run (e.g. a chat run opened from its "Open in Arbitrage panel" button). */
  restoreState(state: PanelState): void {
    this.send({ type: "restore", state });
  }

  setTargetSpeed(msPerToken: number): void {
    this.send({ type: "target-speed", msPerToken });
  }

  status(text: string): void {
    this.send({ type: "status", text });
  }

  override dispose(): void {
    if (this.isDisposed) return;
    if (ArbitragePanel.current === this) ArbitragePanel.current = undefined;
    super.dispose();
    this.panel.dispose();
  }
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    enableForms: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview")],
  };
}

export function contentSecurityPolicy(webview: vscode.Webview, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource}`,
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join("; ");
}

export function renderHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(18).toString("base64");
  // Until a run starts, the slider shows the engine's default threshold.
  const { threshold } = REASON_DEFAULTS;
  const res = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview", f)).toString();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${res("webview.css")}">
<title>Arbitrage</title>
</head>
<body>
<header id="header">
  <div id="question" class="question">Run “Reason with Arbitrage” to start.</div>
  <div id="meta" class="meta"></div>
  <div class="controls">
    <label for="threshold">Router threshold</label>
    <input id="threshold" type="range" min="0" max="1" step="${thresholdStep(threshold)}" value="${threshold}">
    <output id="thresholdValue" for="threshold">${formatThreshold(threshold)}</output>
    <button id="rerun" type="button" disabled>Re-run with this threshold</button>
    <button id="stop" type="button" class="secondary" disabled>Stop</button>
    <button id="log" type="button" class="secondary">Engine log</button>
  </div>
</header>
<div id="error" class="error" hidden></div>
<main id="steps" aria-live="polite"></main>
<section id="summary" class="summary" hidden></section>
<footer id="status" class="status"></footer>
<script nonce="${nonce}" src="${res("webview.js")}"></script>
</body>
</html>`;
}
