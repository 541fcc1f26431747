/**
 * Code requests on the real code pair, Qwen2.5-Coder 0.5B → 1.5B Instruct (Q4_K_M, confidence
 * router), in the real extension host through the real engine process: the lightbulb's command
 * (the selected function in, the answer's last code block back as a diff, Accept, the file's
 * new text), the panel's Apply to Selection and Insert at Cursor, `@arbitrage /code` (chat code
 * fences and "Apply to <file>"), and a run stopped inside a code block (nothing offered, nothing
 * written). What the models write is theirs: the checks compare the file with the answer's own
 * code block, never with a text written here.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as vscode from "vscode";
import { chatRequest, recordingChatStream } from "./chat-recorder.js";
import { proposalTabs, waitFor } from "./helpers.js";
import { realModelPath } from "./real-model-path.js";
import type { ArbitrageApi } from "../../src/extension/main.js";
import type { ReasonResult } from "../../src/engine/types.js";
import { answerCode } from "../../src/shared/answer-code.js";
import { fenced } from "../../src/extension/code-prompt.js";

const EXTENSION_ID = "arbitrage.arbitrage";
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);
const SOURCE = ["import math", "", "def add(a, b):", "    return a - b", "", "def area(r):", "    return math.pi * r * r", ""].join("\n");
const ADD = new vscode.Range(2, 0, 3, 16);
const QUESTION = "Fix the bug: add must return the sum of a and b.";

async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration("arbitrage").update(key, value, vscode.ConfigurationTarget.Global);
}

/** The document's text with `range` replaced by `code`: what Accept must leave in the file. */
function replaced(doc: string, range: vscode.Range, code: string): string {
  const lines = doc.split("\n");
  const before = [...lines.slice(0, range.start.line), lines[range.start.line]!.slice(0, range.start.character)].join("\n");
  const after = [lines[range.end.line]!.slice(range.end.character), ...lines.slice(range.end.line + 1)].join("\n");
  return before + code + after;
}

suite("Code requests on the real code pair (Qwen2.5-Coder 0.5B → 1.5B)", function () {
  let api: ArbitrageApi;
  let dir: string;
  let n = 0;
  const keys: string[] = [];

  async function openSource(select = ADD): Promise<vscode.TextEditor> {
    const file = join(dir, `calc${++n}.py`);
    writeFileSync(file, SOURCE);
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(file)));
    editor.selection = new vscode.Selection(select.start, select.end);
    return editor;
  }

  suiteSetup(async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    api = (await ext.activate()) as ArbitrageApi;
    dir = mkdtempSync(join(tmpdir(), "arb-code-real-"));
    const settings: Record<string, unknown> = {
      threads: THREADS,
      draftModel: realModelPath(ext.extensionPath, "qwen2.5-coder-0.5b-instruct"),
      targetModel: realModelPath(ext.extensionPath, "qwen2.5-coder-1.5b-instruct"),
      router: "confidence",
      policy: "arbitrage",
      contextSize: 2048,
      maxSteps: 8,
      maxTokensPerStep: 96,
    };
    for (const [k, v] of Object.entries(settings)) {
      keys.push(k);
      await setSetting(k, v);
    }
    await waitFor("the code pair in the settings", () => api.controller.settings.snapshot.model.target === settings.targetModel);
  });

  suiteTeardown(async function () {
    for (const k of keys) await setSetting(k, undefined);
  });

  teardown(async function () {
    for (const id of api.code.applier.pending) await vscode.commands.executeCommand("arbitrage.discardProposal", id);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  test("the lightbulb's command: the function in, routed steps, the answer's code as a diff, Accept writes it; then the panel's buttons", async function () {
    const editor = await openSource();
    const uri = editor.document.uri;
    const t0 = Date.now();
    const out = (await vscode.commands.executeCommand("arbitrage.reasonOnCode", uri, ADD, QUESTION)) as
      { result: ReasonResult; proposal?: string } | undefined;
    assert.ok(out, "a result");
    const { result, proposal } = out;
    console.log(`    code pair run: ${Date.now() - t0} ms, ${result.steps.map((s) => s.model).join(",")}; text: ${JSON.stringify(result.text)}`);
    assert.match(
      result.question,
      new RegExp(`^${QUESTION}\\n\\nGiven the selected code \\(lines 3–4\\) of \`[^\`]*calc${n}\\.py\`, language python:`),
    );
    assert.ok(result.question.includes("```python\ndef add(a, b):\n    return a - b\n```"));
    assert.equal(api.controller.panel?.state.result?.text, result.text, "the panel shows the routed steps");
    const blocks = answerCode(result.text).blocks;
    const last = blocks.at(-1);
    assert.ok(last && proposal, `the answer has a code block: ${result.text}`);
    await waitFor("the proposal's diff", () => proposalTabs().length === 1);
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.getText(), SOURCE, "nothing written before Accept");
    assert.equal(await vscode.commands.executeCommand("arbitrage.acceptProposal"), true, "Accept from the diff's title bar");
    const accepted = replaced(SOURCE, ADD, last.code.replace(/\n$/, ""));
    assert.equal(doc.getText(), accepted);
    assert.equal(proposalTabs().length, 0, "Accept closes the diff");

    // The panel's buttons: the block comes from the host's copy of the answer, Apply goes to the run's own selection.
    api.controller.panelHandlers.codeBlock("apply", 0);
    const [tab] = await waitFor("the panel's proposal", () => proposalTabs().length === 1 && proposalTabs());
    assert.equal((tab!.input as vscode.TabInputTextDiff).original.toString(), uri.toString());
    assert.equal(await vscode.commands.executeCommand("arbitrage.acceptProposal"), true);
    assert.equal(doc.getText(), replaced(accepted, ADD, blocks[0]!.code.replace(/\n$/, "")));
    const other = await openSource();
    other.selection = new vscode.Selection(7, 0, 7, 0);
    api.controller.panelHandlers.codeBlock("insert", 0);
    await waitFor("the inserted code", () => other.document.getText() === SOURCE + blocks[0]!.code);
  });

  test("@arbitrage /code: the chat's own code blocks and Apply to <file>, which proposes before writing", async function () {
    const editor = await openSource();
    const { stream, parts, buttons } = recordingChatStream();
    const r = (await api.chatHandler(
      chatRequest(QUESTION, "code"),
      { history: [] } as unknown as vscode.ChatContext,
      stream,
      new vscode.CancellationTokenSource().token,
    )) as vscode.ChatResult;
    assert.equal(r.errorDetails, undefined, JSON.stringify(r.errorDetails));
    // The chat run's own result (the controller keeps the last one).
    const result = api.controller.lastResult as ReasonResult;
    assert.equal((r.metadata as { steps?: number }).steps, result.steps.length);
    const blocks = answerCode(result.text).blocks;
    assert.ok(blocks.length > 0, result.text);
    for (const b of blocks) assert.ok(parts.includes(fenced(b.code, b.language || "python")), `a chat fence for ${JSON.stringify(b.code)}`);
    const apply = buttons.find((b) => b.command === "arbitrage.applyCode");
    assert.ok(apply, buttons.map((b) => b.title).join(", "));
    assert.equal(apply.title, `Apply to ${vscode.workspace.asRelativePath(editor.document.uri, false)}`);
    await vscode.commands.executeCommand(apply.command, ...(apply.arguments ?? []));
    await waitFor("the proposal's diff", () => proposalTabs().length === 1);
    assert.equal(editor.document.getText(), SOURCE);
    assert.equal(await vscode.commands.executeCommand("arbitrage.acceptProposal"), true);
    assert.equal(editor.document.getText(), replaced(SOURCE, ADD, blocks.at(-1)!.code.replace(/\n$/, "")));
  });

  test("a run stopped inside a code block offers no code and writes nothing", async function () {
    // Short steps, so a step ends inside the fence; Stop once the committed text has opened one.
    await setSetting("maxTokensPerStep", 8);
    await setSetting("maxSteps", 40);
    await waitFor("the short steps", () => api.controller.settings.snapshot.options.maxTokensPerStep === 8);
    const editor = await openSource();
    let stopped = false;
    const poll = setInterval(() => {
      const steps = api.controller.panel?.state.steps ?? [];
      if (!stopped && answerCode(steps.map((s) => s.text).join("")).unfinished) {
        stopped = true;
        void api.controller.stop();
      }
    }, 20);
    try {
      const out = (await vscode.commands.executeCommand("arbitrage.reasonOnCode", editor.document.uri, ADD, QUESTION)) as
        { result: ReasonResult; proposal?: string } | undefined;
      assert.ok(stopped, "the run opened a code block");
      assert.ok(out);
      assert.equal(out.result.finishReason, "cancelled");
      assert.equal(answerCode(out.result.text).unfinished, true, out.result.text);
      assert.equal(out.proposal, undefined);
      assert.equal(proposalTabs().length, 0);
      assert.equal(editor.document.getText(), SOURCE);
    } finally {
      clearInterval(poll);
      await setSetting("maxTokensPerStep", 96);
      await setSetting("maxSteps", 8);
    }
  });
});
