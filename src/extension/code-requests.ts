/**
 * Code requests from the editor, the panel, the chat and the language model provider: the
 * editor's code goes in (code-context.ts, code-prompt.ts), the answer's code comes out through
 * the user's accept (apply-code.ts). The embedded demo pair only does arithmetic: a code request
 * on it gets one sentence naming how to pick a code pair, and no run.
 */
import * as vscode from "vscode";
import { extractExpression } from "../engine/task/arithmetic.js";
import type { ModelConfig, ReasonOptions, ReasonResult } from "../engine/types.js";
import type { CodeBlockAction } from "../protocol/index.js";
import { CodeApplier, type ApplyArgs } from "./apply-code.js";
import { answerCode } from "../shared/answer-code.js";
import { buildCodeQuestion, codeTokenBudget, fenced, type CodeQuestion } from "./code-prompt.js";
import { CodeContextError, editorCode, referencedCode, relativePath, type CodeTarget, type EditorCode } from "./code-context.js";
import { Disposable } from "./dispose.js";

export const CODE_COMMANDS = {
  reasonOnCode: "arbitrage.reasonOnCode",
} as const;

const SELECT_MODELS = "arbitrage.selectModels";

/** Languages whose selection is a question in words, not code: "Reason on Selection" asks it as it is. */
const PROSE_LANGUAGES = new Set(["markdown", "plaintext", "latex", "restructuredtext"]);

export function isCodeDocument(doc: vscode.TextDocument): boolean {
  return !PROSE_LANGUAGES.has(doc.languageId);
}

/** What code requests need from the extension's controller. */
export interface CodeRunner {
  readonly settings: { readonly snapshot: { model: ModelConfig } };
  readonly contextSize: number;
  runInPanel(question: string, overrides?: Partial<ReasonOptions>): Promise<ReasonResult | undefined>;
  /** The panel's current run: its question and its answer's text when finished. */
  panelAnswer(): { question: string; answer: string | null } | undefined;
}

export const EMBEDDED_CODE_SENTENCE =
  "The embedded demo pair only answers arithmetic: pick a code pair (for example Qwen2.5-Coder 0.5B → 1.5B) with Arbitrage: Select Models… and ask again.";

/** Whether either model of the pair is an embedded demo model (they read only arithmetic). */
export function usesEmbeddedPair(model: ModelConfig): boolean {
  return (model.draft === "embedded" && !model.remote?.draft) || (model.target === "embedded" && !model.remote?.target);
}

/** The embedded-pair sentence for chat, with the Select Models command as a link (that command only). */
export function embeddedCodeMarkdown(): vscode.MarkdownString {
  const md = new vscode.MarkdownString(
    EMBEDDED_CODE_SENTENCE.replace("Arbitrage: Select Models…", `[Arbitrage: Select Models…](command:${SELECT_MODELS})`),
  );
  md.isTrusted = { enabledCommands: [SELECT_MODELS] };
  return md;
}

/** A chat request's code part: the question to run and what to add after the answer. */
export interface ChatCode {
  question: string;
  notes: string[];
  /** The sentence to answer with instead of running (the embedded pair, a binary file…). */
  refusal?: vscode.MarkdownString;
  /** Streams the answer's code as chat code blocks and "Apply to <file>" where a selection was the input. */
  finish(result: ReasonResult, stream: vscode.ChatResponseStream): void;
}

export class CodeRequests extends Disposable {
  /** Where the code of each panel question came from (keyed by the question, so a re-run keeps it). */
  private readonly targets = new Map<string, CodeTarget>();

  constructor(
    private readonly runner: CodeRunner,
    readonly applier: CodeApplier,
  ) {
    super();
    this.register(applier);
  }

  private budget(): number {
    return codeTokenBudget(this.runner.contextSize);
  }

  private refuseEmbedded(): boolean {
    if (!usesEmbeddedPair(this.runner.settings.snapshot.model)) return false;
    void vscode.window
      .showInformationMessage(EMBEDDED_CODE_SENTENCE, "Select Models…")
      .then((c) => c && vscode.commands.executeCommand(SELECT_MODELS));
    return true;
  }

  /** The editor's code for a request, or undefined after telling the user why there is none. */
  private async codeOf(editor: vscode.TextEditor | undefined): Promise<EditorCode | undefined> {
    if (!editor) {
      void vscode.window.showWarningMessage("Arbitrage: open a file and select the code to reason about.");
      return undefined;
    }
    try {
      return await editorCode(editor, this.budget());
    } catch (e) {
      if (!(e instanceof CodeContextError)) throw e;
      void vscode.window.showWarningMessage(`Arbitrage: ${e.message}`);
      return undefined;
    }
  }

  private async askQuestion(given: unknown, code: EditorCode): Promise<string | undefined> {
    const question = typeof given === "string" ? given : (given as { question?: unknown } | undefined)?.question;
    if (typeof question === "string") return question;
    return vscode.window.showInputBox({
      title: `Reason with Arbitrage on ${code.snippet.path}`,
      prompt: "What should the draft → target pair do with this code? (Empty: explain it and suggest improvements.)",
      placeHolder: "e.g. Fix the bug in this function",
      ignoreFocusOut: true,
    });
  }

  private question(asked: string, code: EditorCode): CodeQuestion {
    const q = buildCodeQuestion(asked, [code.snippet], this.budget());
    for (const n of q.notes) void vscode.window.showWarningMessage(`Arbitrage: ${n}`);
    return q;
  }

  /**
   * "Reason with Arbitrage on Selection" in a code file: the selection (or the code around the
   * cursor), its language and path, and the user's question, answered in the panel, whose code
   * blocks then offer Copy, Insert at Cursor and Apply to Selection.
   */
  async reasonOnSelection(arg?: unknown, editor = vscode.window.activeTextEditor): Promise<ReasonResult | undefined> {
    const code = await this.codeOf(editor);
    if (!code || this.refuseEmbedded()) return undefined;
    const asked = await this.askQuestion(arg, code);
    if (asked === undefined) return undefined;
    const q = this.question(asked, code);
    this.targets.set(q.text, code.target);
    while (this.targets.size > 20) this.targets.delete(this.targets.keys().next().value!);
    return this.runner.runInPanel(q.text, { promptStyle: "code" });
  }

  /**
   * The code action's path: the same request, and the answer's last complete code block comes
   * back as a diff of the selection to accept or discard.
   */
  async reasonOnCode(uri?: unknown, range?: unknown, question?: unknown): Promise<{ result: ReasonResult; proposal?: string } | undefined> {
    let editor = vscode.window.activeTextEditor;
    if (uri instanceof vscode.Uri && range instanceof vscode.Range) {
      editor = await vscode.window.showTextDocument(uri, { selection: range, preserveFocus: false });
    }
    const result = await this.reasonOnSelection(question, editor);
    if (!result) return undefined;
    const target = this.targets.get(result.question) ?? (editor && (await this.codeOf(editor))?.target);
    const { blocks, unfinished } = answerCode(result.text);
    const last = blocks.at(-1);
    if (!last || !target) {
      void vscode.window.showInformationMessage(
        unfinished
          ? "Arbitrage: the answer stopped inside a code block; an unfinished block is never applied. Ask again to get the whole code."
          : "Arbitrage: the answer has no code block to apply; it is in the panel.",
      );
      return { result };
    }
    const { id } = await this.applier.propose(target, last.code);
    return { result, proposal: id };
  }

  /** A panel code block's button: the block is looked up in the host's own copy of the answer, never taken from the webview. */
  async panelCodeBlock(action: CodeBlockAction, index: number): Promise<void> {
    const run = this.runner.panelAnswer();
    const block = run?.answer !== null && run?.answer !== undefined ? answerCode(run.answer).blocks[index] : undefined;
    if (!run || !block) return;
    if (action === "copy") return this.applier.copy(block.code);
    if (action === "insert") {
      await this.applier.insertAtCursor(block.code);
      return;
    }
    const editor = this.applier.editor;
    const target: CodeTarget | undefined =
      this.targets.get(run.question) ?? (editor ? { uri: editor.document.uri, range: editor.selection } : undefined);
    if (!target) {
      void vscode.window.showWarningMessage("Arbitrage: open the file and select the code to replace, then apply again.");
      return;
    }
    await this.applier.propose(target, block.code);
  }

  /**
   * A chat request's code: `#file`/`#selection` references, else (for `/code`) the active
   * editor's selection or the code around its cursor. Undefined when the request has no code part.
   */
  async chatCode(request: vscode.ChatRequest): Promise<ChatCode | undefined> {
    const isCode = request.command === "code";
    let codes: EditorCode[];
    try {
      codes = await referencedCode(request.references);
      const editor = vscode.window.activeTextEditor;
      if (codes.length === 0 && isCode && editor && isCodeDocument(editor.document)) codes = [await editorCode(editor, this.budget())];
    } catch (e) {
      if (!(e instanceof CodeContextError)) throw e;
      return {
        question: "",
        notes: [],
        refusal: new vscode.MarkdownString(e.message.replace(/[\\`*_[\]<>]/g, (c) => `\\${c}`)),
        finish: () => undefined,
      };
    }
    if (!isCode && codes.length === 0) return undefined;
    if (usesEmbeddedPair(this.runner.settings.snapshot.model))
      return { question: "", notes: [], refusal: embeddedCodeMarkdown(), finish: () => undefined };
    const q = buildCodeQuestion(
      request.prompt,
      codes.map((c) => c.snippet),
      this.budget(),
    );
    const target = codes.find((c) => c.snippet.source === "selection")?.target;
    const language = codes[0]?.snippet.languageId ?? "";
    return {
      question: codes.length ? q.text : request.prompt,
      notes: q.notes,
      finish: (result, stream) => {
        const { blocks, unfinished } = answerCode(result.text);
        if (unfinished) stream.markdown("_The answer stopped inside a code block; that block is not offered for applying._\n\n");
        for (const b of blocks) stream.markdown(fenced(b.code, b.language || language));
        const last = blocks.at(-1);
        if (target && last) {
          stream.button({
            command: "arbitrage.applyCode",
            title: `Apply to ${relativePath(target.uri)}`,
            arguments: [{ uri: target.uri, range: target.range, code: last.code } satisfies ApplyArgs],
          });
        }
      },
    };
  }

  /**
   * The language model provider's code part: the active editor's selection when the messages do
   * not already carry it (a caller such as inline chat may have put it there itself).
   */
  lmQuestion(question: string, allText: string): { question: string; refusal?: string } {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty || !isCodeDocument(editor.document)) return { question };
    const selected = editor.document.getText(editor.selection);
    const snippet: EditorCode["snippet"] = {
      text: selected,
      languageId: editor.document.languageId,
      path: relativePath(editor.document.uri),
      source: "selection",
      startLine: editor.selection.start.line,
    };
    // The embedded pair reads only arithmetic: an arithmetic question asked with code selected is still its own.
    if (usesEmbeddedPair(this.runner.settings.snapshot.model))
      return extractExpression(question) ? { question } : { question, refusal: EMBEDDED_CODE_SENTENCE };
    if (!selected.trim() || allText.includes(selected.trim())) return { question };
    return { question: buildCodeQuestion(question, [snippet], this.budget()).text };
  }
}

/** The "Reason with Arbitrage" code action (lightbulb) on a non-empty selection of a code file. */
export class ReasonCodeActionProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.RefactorRewrite.append("arbitrage")];

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection): vscode.CodeAction[] {
    if (range.isEmpty || !isCodeDocument(document)) return [];
    const action = new vscode.CodeAction("Reason with Arbitrage", ReasonCodeActionProvider.kinds[0]);
    action.command = {
      command: CODE_COMMANDS.reasonOnCode,
      title: "Reason with Arbitrage",
      arguments: [document.uri, new vscode.Range(range.start, range.end)],
    };
    return [action];
  }
}

export function registerCodeActions(): vscode.Disposable {
  return vscode.languages.registerCodeActionsProvider({ scheme: "file" }, new ReasonCodeActionProvider(), {
    providedCodeActionKinds: ReasonCodeActionProvider.kinds,
  });
}
