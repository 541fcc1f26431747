/**
 * Model code into the editor, only on the user's word. "Apply" opens `vscode.diff` between the
 * file and a read-only proposed version (a virtual document of our own scheme) with Accept and
 * Discard in the diff's title bar and in a notification; the file changes only on Accept (one
 * WorkspaceEdit, undoable, not saved). "Insert at Cursor" and "Copy" act at once: the click is
 * the user's word. Model code is text here; nothing runs it.
 */
import * as vscode from "vscode";
import { Disposable } from "./dispose.js";
import { relativePath, type CodeTarget } from "./code-context.js";
import { codeForRange } from "./code-prompt.js";

export const PROPOSAL_SCHEME = "arbitrage-proposal";

export const APPLY_COMMANDS = {
  apply: "arbitrage.applyCode",
  accept: "arbitrage.acceptProposal",
  discard: "arbitrage.discardProposal",
} as const;

/** What "Apply to <file>" (chat button, panel, code action) carries. */
export interface ApplyArgs {
  uri: vscode.Uri;
  range: vscode.Range;
  code: string;
}

/**
 * The Apply button's arguments, also when they arrive as plain JSON (a `Uri` and a `Range` that
 * went through serialisation on the way from the chat view): anything else is undefined.
 */
export function applyArgs(raw: unknown): ApplyArgs | undefined {
  const a = raw as { uri?: unknown; range?: unknown; code?: unknown } | undefined;
  if (!a || typeof a.code !== "string") return undefined;
  const uri = a.uri instanceof vscode.Uri ? a.uri : a.uri && typeof a.uri === "object" ? vscode.Uri.from(a.uri as vscode.Uri) : undefined;
  type Pos = { line?: unknown; character?: unknown } | undefined;
  // A Range serialises as [start, end].
  const r = (Array.isArray(a.range) ? { start: a.range[0], end: a.range[1] } : a.range) as { start?: Pos; end?: Pos } | undefined;
  const num = (x: unknown) => (typeof x === "number" && Number.isInteger(x) && x >= 0 ? x : undefined);
  const [sl, sc, el, ec] = [num(r?.start?.line), num(r?.start?.character), num(r?.end?.line), num(r?.end?.character)];
  if (!uri || sl === undefined || sc === undefined || el === undefined || ec === undefined) return undefined;
  return { uri, range: new vscode.Range(sl, sc, el, ec), code: a.code };
}

interface Proposal extends CodeTarget {
  id: string;
  /** The file's version the diff was made from: Accept writes only into that version. */
  version: number;
  code: string;
  proposedUri: vscode.Uri;
  proposedText: string;
  /** Resolves with whether the proposal was applied (false: discarded or replaced). */
  settle: (applied: boolean) => void;
}

export class CodeApplier extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly proposals = new Map<string, Proposal>();
  private seq = 0;
  /** The last text editor that had focus: the panel's buttons act on it (a focused webview leaves no active editor). */
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;

  constructor() {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, this));
    this.register(
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e && e.document.uri.scheme !== PROPOSAL_SCHEME) this.lastEditor = e;
      }),
    );
    this.register(
      vscode.commands.registerCommand(APPLY_COMMANDS.apply, (raw: unknown) => {
        const a = applyArgs(raw);
        if (!a) throw new Error("Arbitrage: Apply Code needs a file, a range and the code (it is run from an answer's Apply button).");
        return this.propose(a, a.code);
      }),
    );
    this.register(vscode.commands.registerCommand(APPLY_COMMANDS.accept, (id?: unknown) => this.accept(this.proposalFor(id))));
    this.register(vscode.commands.registerCommand(APPLY_COMMANDS.discard, (id?: unknown) => this.discard(this.proposalFor(id))));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.proposals.get(uri.query)?.proposedText ?? "";
  }

  /** The editor the panel's "Insert at Cursor" and "Apply to Selection" act on. */
  get editor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active && active.document.uri.scheme !== PROPOSAL_SCHEME) return active;
    return this.lastEditor && !this.lastEditor.document.isClosed ? this.lastEditor : undefined;
  }

  /** The open proposals' ids, oldest first. */
  get pending(): string[] {
    return [...this.proposals.keys()];
  }

  /**
   * Shows `code` replacing `target` as a diff and waits for Accept or Discard. Resolves with the
   * proposal id and a promise of whether it was applied.
   */
  async propose(target: CodeTarget, code: string): Promise<{ id: string; applied: Promise<boolean> }> {
    const doc = await vscode.workspace.openTextDocument(target.uri);
    const range = doc.validateRange(target.range);
    code = codeForRange(code, doc.getText(range));
    const id = `p${++this.seq}`;
    const proposedText =
      doc.getText(new vscode.Range(new vscode.Position(0, 0), range.start)) +
      code +
      doc.getText(new vscode.Range(range.end, doc.lineAt(doc.lineCount - 1).range.end));
    const name = relativePath(doc.uri);
    const proposedUri = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: doc.uri.path, query: id });
    let settle!: (applied: boolean) => void;
    const applied = new Promise<boolean>((r) => (settle = r));
    this.proposals.set(id, { id, uri: doc.uri, range, version: doc.version, code, proposedUri, proposedText, settle });
    await vscode.commands.executeCommand("vscode.diff", doc.uri, proposedUri, `${name} ↔ Arbitrage's proposal`, { preview: true });
    void vscode.window
      .showInformationMessage(`Arbitrage proposes a change to ${name}: review the diff, then accept or discard it.`, "Accept", "Discard")
      .then((choice) => {
        const p = this.proposals.get(id);
        if (!p) return;
        if (choice === "Accept") void this.accept(p);
        else if (choice === "Discard") void this.discard(p);
      });
    return { id, applied };
  }

  private proposalFor(id: unknown): Proposal | undefined {
    if (typeof id === "string") return this.proposals.get(id);
    // From the diff's title bar: the proposal shown in the active diff, else the newest one.
    const shown = vscode.window.activeTextEditor?.document.uri;
    if (shown?.scheme === PROPOSAL_SCHEME) return this.proposals.get(shown.query);
    return [...this.proposals.values()].at(-1);
  }

  /** Applies a proposal to its file (the editor's buffer; saving stays the user's). */
  async accept(p: Proposal | undefined): Promise<boolean> {
    if (!p) {
      void vscode.window.showWarningMessage("Arbitrage: there is no proposed change to accept.");
      return false;
    }
    const doc = await vscode.workspace.openTextDocument(p.uri);
    if (doc.version !== p.version) {
      await this.close(p, false);
      void vscode.window.showWarningMessage(`Arbitrage: ${relativePath(p.uri)} changed since the proposal was made; nothing was applied. Ask again.`);
      return false;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(p.uri, p.range, p.code);
    const ok = await vscode.workspace.applyEdit(edit);
    await this.close(p, ok);
    if (!ok) void vscode.window.showErrorMessage(`Arbitrage: VS Code refused the edit to ${relativePath(p.uri)}; nothing was applied.`);
    return ok;
  }

  async discard(p: Proposal | undefined): Promise<void> {
    if (p) await this.close(p, false);
  }

  private async close(p: Proposal, applied: boolean): Promise<void> {
    this.proposals.delete(p.id);
    p.settle(applied);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    const diffs = tabs.filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === p.proposedUri.toString());
    if (diffs.length) await vscode.window.tabGroups.close(diffs);
  }

  /** Inserts at the cursor of the last focused editor (replacing its selection, as typing would). */
  async insertAtCursor(code: string): Promise<boolean> {
    const editor = this.editor;
    if (!editor) {
      void vscode.window.showWarningMessage("Arbitrage: open a file and place the cursor where the code should go.");
      return false;
    }
    return editor.edit((b) => b.replace(editor.selection, code));
  }

  async copy(code: string): Promise<void> {
    await vscode.env.clipboard.writeText(code);
    void vscode.window.setStatusBarMessage("Arbitrage: code copied", 3000);
  }

  override dispose(): void {
    for (const p of this.proposals.values()) p.settle(false);
    this.proposals.clear();
    super.dispose();
  }
}
