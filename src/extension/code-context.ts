/**
 * The editor context a code request sends: the selection, or with none the function/class the
 * cursor is in (the document symbol provider's symbols), or the lines around the cursor where no
 * provider answers; and the files and selections a chat request references (`#file`, `#selection`).
 * Each comes back as a CodeSnippet (code-prompt.ts builds the question from them) plus where an
 * answer's code would go.
 */
import * as vscode from "vscode";
import { estimateTokens, looksBinary, type CodeSnippet } from "./code-prompt.js";

/** Where an answer's code may be applied: the range the code came from. */
export interface CodeTarget {
  uri: vscode.Uri;
  range: vscode.Range;
}

export interface EditorCode {
  snippet: CodeSnippet;
  target: CodeTarget;
}

/** A code request the extension cannot make, with the sentence to show. */
export class CodeContextError extends Error {}

/** Symbol kinds that make a unit of code to reason about (not variables or fields). */
const UNIT_KINDS = new Set([
  vscode.SymbolKind.Function,
  vscode.SymbolKind.Method,
  vscode.SymbolKind.Constructor,
  vscode.SymbolKind.Class,
  vscode.SymbolKind.Interface,
  vscode.SymbolKind.Module,
  vscode.SymbolKind.Namespace,
  vscode.SymbolKind.Struct,
  vscode.SymbolKind.Enum,
]);

export function relativePath(uri: vscode.Uri): string {
  return uri.scheme === "file" || vscode.workspace.getWorkspaceFolder(uri)
    ? vscode.workspace.asRelativePath(uri, false)
    : uri.path.split("/").pop() || uri.toString();
}

function checkText(doc: vscode.TextDocument, text: string): void {
  if (looksBinary(text)) {
    throw new CodeContextError(`${relativePath(doc.uri)} looks like a binary file (it contains NUL bytes): select code in a source file.`);
  }
}

function snippetOf(doc: vscode.TextDocument, range: vscode.Range, source: CodeSnippet["source"], symbol?: string): EditorCode {
  const text = doc.getText(range);
  checkText(doc, text);
  return {
    snippet: { text, languageId: doc.languageId, path: relativePath(doc.uri), source, startLine: range.start.line, ...(symbol ? { symbol } : {}) },
    target: { uri: doc.uri, range },
  };
}

/**
 * The innermost unit symbol around `position` that fits `budgetTokens`; when even the innermost
 * does not fit, that one (the prompt then cuts it with a note).
 */
function enclosingSymbol(symbols: readonly vscode.DocumentSymbol[], position: vscode.Position, doc: vscode.TextDocument, budgetTokens: number) {
  const chain: vscode.DocumentSymbol[] = [];
  let level: readonly vscode.DocumentSymbol[] = symbols;
  for (;;) {
    const inside = level.find((s) => s.range.contains(position));
    if (!inside) break;
    if (UNIT_KINDS.has(inside.kind)) chain.push(inside);
    level = inside.children ?? [];
  }
  const fitting = [...chain].reverse().filter((s) => estimateTokens(doc.getText(s.range)) <= budgetTokens);
  return fitting.at(-1) ?? chain.at(-1);
}

/** Lines around the cursor, growing both ways while they fit the budget. */
function regionAround(doc: vscode.TextDocument, line: number, budgetTokens: number): vscode.Range {
  let first = line;
  let last = line;
  let tokens = estimateTokens(doc.lineAt(line).text);
  for (let grew = true; grew;) {
    grew = false;
    for (const next of [first - 1, last + 1]) {
      if (next < 0 || next >= doc.lineCount) continue;
      const t = estimateTokens(doc.lineAt(next).text) + 1;
      if (tokens + t > budgetTokens) continue;
      tokens += t;
      if (next < first) first = next;
      else last = next;
      grew = true;
    }
  }
  return new vscode.Range(first, 0, last, doc.lineAt(last).text.length);
}

/**
 * The code of an editor for a request: the selection, or else the enclosing function/class
 * (through the document symbol provider), or else the lines around the cursor, within `budgetTokens`.
 */
export async function editorCode(editor: vscode.TextEditor, budgetTokens: number): Promise<EditorCode> {
  const doc = editor.document;
  if (!editor.selection.isEmpty) {
    const code = snippetOf(doc, editor.selection, "selection");
    if (!code.snippet.text.trim()) throw new CodeContextError("The selection is only whitespace: select the code to reason about.");
    return code;
  }
  if (doc.getText().trim() === "") throw new CodeContextError(`${relativePath(doc.uri)} is empty: there is no code to reason about.`);
  const position = editor.selection.active;
  const symbols = await Promise.resolve(
    vscode.commands.executeCommand<(vscode.DocumentSymbol | vscode.SymbolInformation)[] | undefined>("vscode.executeDocumentSymbolProvider", doc.uri),
  ).catch(() => undefined);
  const hierarchical = (symbols ?? []).filter((s): s is vscode.DocumentSymbol => "children" in s);
  const symbol = enclosingSymbol(hierarchical, position, doc, budgetTokens);
  if (symbol) return snippetOf(doc, symbol.range, "symbol", symbol.name);
  return snippetOf(doc, regionAround(doc, position.line, budgetTokens), "region");
}

/**
 * The code a chat request references: `#file` (a Uri) and `#selection` (a Location). A binary
 * file is refused with a clear message; references of other kinds are left to the prompt text.
 */
export async function referencedCode(references: readonly vscode.ChatPromptReference[]): Promise<EditorCode[]> {
  const out: EditorCode[] = [];
  for (const ref of references) {
    const value = ref.value;
    if (value instanceof vscode.Location) {
      if (value.range.isEmpty) continue;
      const doc = await vscode.workspace.openTextDocument(value.uri);
      out.push(snippetOf(doc, value.range, "selection"));
    } else if (value instanceof vscode.Uri) {
      const bytes = await vscode.workspace.fs.readFile(value);
      if (bytes.subarray(0, 8192).includes(0)) {
        throw new CodeContextError(`${relativePath(value)} looks like a binary file (it contains NUL bytes): reference a source file.`);
      }
      const doc = await vscode.workspace.openTextDocument(value);
      const all = new vscode.Range(0, 0, doc.lineCount, 0);
      out.push(snippetOf(doc, doc.validateRange(all), "file"));
    }
  }
  return out;
}
