/**
 * Code requests in the real extension host: the editor context that goes in (selection, the
 * enclosing symbol from a real document symbol provider, the lines around the cursor, `#file`),
 * the diff that Apply shows and what the file holds after Accept or Discard, the lightbulb code
 * action, and the clear messages for bad input. The embedded pair is the one set here: it
 * refuses code requests with one sentence (checked), so no model runs in this file.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as vscode from "vscode";
import { chatRequest, recordingChatStream } from "./chat-recorder.js";
import { proposalTabs, waitFor } from "./helpers.js";
import type { ArbitrageApi } from "../../src/extension/main.js";
import { editorCode, referencedCode } from "../../src/extension/code-context.js";
import { buildCodeQuestion } from "../../src/extension/code-prompt.js";
import { EMBEDDED_CODE_SENTENCE } from "../../src/extension/code-requests.js";

const EXTENSION_ID = "arbitrage.arbitrage";
const SOURCE = [
  "import math",
  "",
  "def add(a, b):",
  "    total = a - b",
  "",
  "    return total",
  "",
  "def area(r):",
  "    return math.pi * r * r",
  "",
].join("\n");

/** "Apply" as the chat's button runs it: the proposal's id and whether it was applied in the end. */
async function propose(editor: vscode.TextEditor, range: vscode.Range, code: string): Promise<{ id: string; applied: Promise<boolean> }> {
  return (await vscode.commands.executeCommand("arbitrage.applyCode", { uri: editor.document.uri, range, code })) as {
    id: string;
    applied: Promise<boolean>;
  };
}

suite("Code requests (real extension host)", function () {
  let api: ArbitrageApi;
  let dir: string;
  let n = 0;

  /** A fresh python file with SOURCE, open in an editor. */
  async function openSource(text = SOURCE, ext = "py"): Promise<vscode.TextEditor> {
    const file = join(dir, `calc${++n}.${ext}`);
    writeFileSync(file, text);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    return vscode.window.showTextDocument(doc);
  }

  suiteSetup(async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    api = (await ext.activate()) as ArbitrageApi;
    dir = mkdtempSync(join(tmpdir(), "arb-code-"));
    for (const k of ["draftModel", "targetModel"])
      await vscode.workspace.getConfiguration("arbitrage").update(k, undefined, vscode.ConfigurationTarget.Global);
  });

  teardown(async function () {
    for (const id of api.code.applier.pending) await vscode.commands.executeCommand("arbitrage.discardProposal", id);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  test("the code commands are registered", async function () {
    const all = await vscode.commands.getCommands(true);
    for (const c of ["arbitrage.reasonOnCode", "arbitrage.applyCode", "arbitrage.acceptProposal", "arbitrage.discardProposal"]) {
      assert.ok(all.includes(c), `${c} not registered`);
    }
  });

  test("the selection goes in with its language, path and lines", async function () {
    const editor = await openSource();
    editor.selection = new vscode.Selection(2, 0, 5, 16);
    const code = await editorCode(editor, 1000);
    assert.equal(code.snippet.text, "def add(a, b):\n    total = a - b\n\n    return total");
    assert.equal(code.snippet.languageId, "python");
    assert.equal(code.snippet.source, "selection");
    const q = buildCodeQuestion("Fix the bug.", [code.snippet], 1000);
    assert.match(q.text, new RegExp(`Given the selected code \\(lines 3–6\\) of \`[^\`]*calc${n}\\.py\`, language python:`));
    assert.ok(code.target.uri.toString() === editor.document.uri.toString() && code.target.range.isEqual(editor.selection));
  });

  test("without a selection: the enclosing function from the document symbol provider", async function () {
    // A real provider, registered the way a language extension registers one (code-server has no Python extension here).
    const provider = vscode.languages.registerDocumentSymbolProvider(
      { language: "python" },
      {
        provideDocumentSymbols(doc) {
          const fns: vscode.DocumentSymbol[] = [];
          for (let i = 0; i < doc.lineCount; i++) {
            const m = /^def (\w+)/.exec(doc.lineAt(i).text);
            if (!m) continue;
            let end = i + 1;
            while (end < doc.lineCount && (doc.lineAt(end).text.startsWith(" ") || doc.lineAt(end).isEmptyOrWhitespace)) end++;
            const range = new vscode.Range(i, 0, end - 1, doc.lineAt(end - 1).text.length);
            fns.push(new vscode.DocumentSymbol(m[1]!, "", vscode.SymbolKind.Function, range, doc.lineAt(i).range));
          }
          return fns;
        },
      },
    );
    try {
      const editor = await openSource();
      editor.selection = new vscode.Selection(3, 6, 3, 6);
      const code = await editorCode(editor, 1000);
      assert.equal(code.snippet.source, "symbol");
      assert.equal(code.snippet.symbol, "add");
      assert.ok(code.snippet.text.startsWith("def add(a, b):") && code.snippet.text.includes("return total"), code.snippet.text);
      assert.ok(!code.snippet.text.includes("def area"));
    } finally {
      provider.dispose();
    }
  });

  test("without a selection or symbols: the lines around the cursor, within the budget", async function () {
    const lines = Array.from({ length: 400 }, (_, i) => `v${i} = ${i}`);
    const editor = await openSource(lines.join("\n"), "txtpy");
    editor.selection = new vscode.Selection(200, 0, 200, 0);
    const code = await editorCode(editor, 100);
    assert.equal(code.snippet.source, "region");
    assert.ok(code.snippet.text.includes("v200 = 200"));
    assert.ok(code.snippet.text.length <= 100 * 3 + 50, `${code.snippet.text.length} characters for 100 tokens`);
    assert.ok(code.target.range.start.line < 200 && code.target.range.end.line > 200);
  });

  test("#file and #selection references: a file goes in whole, a selection as it is, a binary file is refused with a clear message", async function () {
    const src = join(dir, "ref.py");
    writeFileSync(src, SOURCE);
    const [code] = await referencedCode([{ id: "vscode.file", value: vscode.Uri.file(src) } as vscode.ChatPromptReference]);
    assert.equal(code!.snippet.source, "file");
    assert.equal(code!.snippet.text, SOURCE);
    const range = new vscode.Range(7, 0, 8, 28);
    const [selected] = await referencedCode([
      { id: "vscode.selection", value: new vscode.Location(vscode.Uri.file(src), range) } as vscode.ChatPromptReference,
    ]);
    assert.equal(selected!.snippet.source, "selection");
    assert.equal(selected!.snippet.text, "def area(r):\n    return math.pi * r * r");
    assert.ok(selected!.target.range.isEqual(range));
    const bin = join(dir, "blob.bin");
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0, 0]));
    await assert.rejects(
      referencedCode([{ id: "vscode.file", value: vscode.Uri.file(bin) } as vscode.ChatPromptReference]),
      /blob\.bin looks like a binary file/,
    );
    const { stream, parts } = recordingChatStream();
    const request = {
      ...chatRequest("What is this?", "code"),
      references: [{ id: "vscode.file", value: vscode.Uri.file(bin) }],
    } as unknown as vscode.ChatRequest;
    const r = await api.chatHandler(request, { history: [] } as unknown as vscode.ChatContext, stream, new vscode.CancellationTokenSource().token);
    assert.deepEqual((r as vscode.ChatResult).metadata, { refused: true });
    assert.match(parts.join(""), /blob\.bin looks like a binary file/);
  });

  test("the embedded pair answers a code request with one sentence and a Select Models link, and runs nothing", async function () {
    const editor = await openSource();
    editor.selection = new vscode.Selection(2, 0, 5, 16);
    const { stream, parts } = recordingChatStream();
    const before = api.controller.lastResult;
    const r = await api.chatHandler(
      chatRequest("Fix the bug", "code"),
      { history: [] } as unknown as vscode.ChatContext,
      stream,
      new vscode.CancellationTokenSource().token,
    );
    assert.deepEqual((r as vscode.ChatResult).metadata, { refused: true });
    assert.equal(parts.length, 1);
    assert.match(
      parts[0]!,
      /^The embedded demo pair only answers arithmetic: pick a code pair .* with \[Arbitrage: Select Models…\]\(command:arbitrage\.selectModels\)/,
    );
    // The command, in the code file: no run, the same sentence as a notification.
    assert.equal(await vscode.commands.executeCommand("arbitrage.reasonOnSelection", { question: "Fix the bug" }), undefined);
    assert.equal(api.controller.lastResult, before);
    assert.ok(EMBEDDED_CODE_SENTENCE.includes("Select Models"));
  });

  test("the language model provider: a code selection on the embedded pair gets the sentence as its answer, arithmetic still runs", async function () {
    const editor = await openSource();
    editor.selection = new vscode.Selection(2, 0, 5, 16);
    const provider = api.languageModelProvider;
    const [model] = provider.provideLanguageModelChatInformation({ silent: true }, new vscode.CancellationTokenSource().token);
    const ask = async (text: string) => {
      const parts: string[] = [];
      await provider.provideLanguageModelChatResponse(
        model!,
        [vscode.LanguageModelChatMessage.User(text)],
        {},
        { report: (p) => parts.push(p.value) },
        new vscode.CancellationTokenSource().token,
      );
      return parts.join("");
    };
    assert.equal(await ask("Fix the bug in this function"), EMBEDDED_CODE_SENTENCE);
    assert.match(await ask("Q: 12*7+5"), /89/, "an arithmetic question is answered by the embedded pair");
  });

  test("an empty or whitespace selection is refused before anything runs", async function () {
    const editor = await openSource("x = 1\n\n\n\ny = 2\n");
    editor.selection = new vscode.Selection(1, 0, 3, 0);
    await assert.rejects(editorCode(editor, 1000), /The selection is only whitespace/);
    const empty = await openSource("");
    empty.selection = new vscode.Selection(0, 0, 0, 0);
    await assert.rejects(editorCode(empty, 1000), /is empty: there is no code to reason about/);
  });

  test("the code action offers Reason with Arbitrage on a selection only", async function () {
    const editor = await openSource();
    const uri = editor.document.uri;
    const on = await vscode.commands.executeCommand<vscode.CodeAction[]>("vscode.executeCodeActionProvider", uri, new vscode.Range(2, 0, 5, 16));
    const ours = on.filter((a) => a.title === "Reason with Arbitrage");
    assert.equal(ours.length, 1);
    assert.equal(ours[0]!.command?.command, "arbitrage.reasonOnCode");
    const off = await vscode.commands.executeCommand<vscode.CodeAction[]>("vscode.executeCodeActionProvider", uri, new vscode.Range(3, 4, 3, 4));
    assert.equal(off.filter((a) => a.title === "Reason with Arbitrage").length, 0);
  });

  test("Apply shows a diff, leaves the file alone until Accept, then the file holds the code", async function () {
    const editor = await openSource();
    const range = new vscode.Range(2, 0, 5, 16);
    const { id, applied } = await propose(editor, range, "def add(a, b):\n    return a + b");
    const [tab] = await waitFor("the proposal's diff", () => proposalTabs().length > 0 && proposalTabs());
    const input = tab!.input as vscode.TabInputTextDiff;
    assert.equal(input.original.toString(), editor.document.uri.toString());
    const proposed = await vscode.workspace.openTextDocument(input.modified);
    assert.equal(proposed.getText(), SOURCE.replace("def add(a, b):\n    total = a - b\n\n    return total", "def add(a, b):\n    return a + b"));
    assert.equal(editor.document.getText(), SOURCE, "nothing written before Accept");
    assert.equal(await vscode.commands.executeCommand("arbitrage.acceptProposal", id), true);
    assert.equal(await applied, true);
    assert.equal(editor.document.getText(), proposed.getText());
    await waitFor("the diff to close", () => proposalTabs().length === 0);
  });

  test("Apply takes its arguments as plain JSON too, and refuses incomplete ones", async function () {
    const editor = await openSource();
    const json = JSON.parse(JSON.stringify({ uri: editor.document.uri, range: new vscode.Range(2, 0, 5, 16), code: "pass" })) as unknown;
    const { id } = (await vscode.commands.executeCommand("arbitrage.applyCode", json)) as { id: string };
    await waitFor("the proposal's diff", () => proposalTabs().length === 1);
    assert.equal(await vscode.commands.executeCommand("arbitrage.acceptProposal", id), true);
    assert.equal(editor.document.getText(), SOURCE.replace("def add(a, b):\n    total = a - b\n\n    return total", "pass"));
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand("arbitrage.applyCode", { code: "pass" })),
      /Apply Code needs a file, a range and the code/,
    );
  });

  test("Discard leaves the file as it was; a file changed since the proposal is not written", async function () {
    const editor = await openSource();
    const range = new vscode.Range(2, 0, 5, 16);
    const first = await propose(editor, range, "pass");
    await vscode.commands.executeCommand("arbitrage.discardProposal", first.id);
    assert.equal(await first.applied, false);
    assert.equal(editor.document.getText(), SOURCE);
    const second = await propose(editor, range, "pass");
    const edit = new vscode.WorkspaceEdit();
    edit.insert(editor.document.uri, new vscode.Position(0, 0), "# edited\n");
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(await vscode.commands.executeCommand("arbitrage.acceptProposal", second.id), false);
    assert.equal(editor.document.getText(), `# edited\n${SOURCE}`);
  });
});
