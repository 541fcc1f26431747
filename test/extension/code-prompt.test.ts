// The code request's question (what it says it was given, cuts with a note), the answer's final
// code blocks (unfinished fences left out) and chat fences that model code cannot break.
import assert from "node:assert/strict";
import { test } from "node:test";
import MarkdownIt from "markdown-it";
import { answerCode } from "../../src/shared/answer-code.js";
import {
  buildCodeQuestion,
  CHARS_PER_TOKEN,
  codeForRange,
  codeTokenBudget,
  fenced,
  fenceLanguage,
  fitToBudget,
  looksBinary,
  type CodeSnippet,
} from "../../src/extension/code-prompt.js";

const snippet = (over: Partial<CodeSnippet> = {}): CodeSnippet => ({
  text: "def add(a, b):\n    return a - b",
  languageId: "python",
  path: "src/calc.py",
  source: "selection",
  startLine: 9,
  ...over,
});

test("the question names the file, the language, which lines and the code", () => {
  const q = buildCodeQuestion("  Fix the bug.  ", [snippet()], 1000);
  assert.equal(q.notes.length, 0);
  assert.match(q.text, /^Fix the bug\.\n\n/);
  assert.match(q.text, /Given the selected code \(lines 10–11\) of `src\/calc\.py`, language python:/);
  assert.ok(q.text.includes("```python\ndef add(a, b):\n    return a - b\n```"), q.text);
});

test("an enclosing symbol is named; an empty question asks for an explanation", () => {
  const q = buildCodeQuestion("", [snippet({ source: "symbol", symbol: "add" })], 1000);
  assert.match(q.text, /^Explain this code/);
  assert.match(q.text, /Given the `add` around the cursor \(lines 10–11\)/);
});

test("code over the budget is cut at a line, said in the prompt and in a note", () => {
  const lines = Array.from({ length: 100 }, (_, i) => `x${i} = ${i}`);
  const q = buildCodeQuestion("Why?", [snippet({ text: lines.join("\n") })], 50);
  assert.equal(q.notes.length, 1);
  assert.match(q.notes[0]!, /cut to its first (\d+) of 100 lines/);
  const kept = Number(/first (\d+) of 100/.exec(q.notes[0]!)![1]);
  assert.ok(kept > 0 && kept < 100);
  assert.match(q.text, new RegExp(`only its first ${kept} of 100 lines fit in the model's context`));
  assert.ok(q.text.includes(`x${kept - 1} = ${kept - 1}\n\`\`\``), "the last kept line ends the fence");
  assert.ok(!q.text.includes(`x${kept} = ${kept}\n`), "the first cut line is not sent");
});

test("fitToBudget keeps whole lines and cuts one over-long line", () => {
  assert.deepEqual(fitToBudget("a\nb", 10), { text: "a\nb", cut: null });
  const long = "y".repeat(10 * CHARS_PER_TOKEN + 5);
  const f = fitToBudget(long, 10);
  assert.equal(f.text.length, 10 * CHARS_PER_TOKEN);
  assert.deepEqual(f.cut, { keptLines: 1, totalLines: 1 });
  assert.equal(codeTokenBudget(4096), 2048);
});

test("an unknown language gets a note and is named as such", () => {
  const q = buildCodeQuestion("What does it do?", [snippet({ languageId: "cobol-ish", path: "x.cbl" })], 1000);
  assert.match(q.notes[0]!, /x\.cbl is in "cobol-ish", a language the code models are not known to handle/);
  assert.match(q.text, /language cobol-ish \(not a language the code models are known for\)/);
  assert.equal(fenceLanguage("cobol ish"), "", "an id that is no fence word gives a bare fence");
});

test("binary text is recognised by its NUL bytes", () => {
  assert.equal(looksBinary("\u007fELF\u0002\u0001\u0001\u0000"), true);
  assert.equal(looksBinary("plain text"), false);
});

test("fences are longer than any backtick run in the code, so model code cannot close them", () => {
  const hostile = "x = 1\n```\n# Heading\n[link](command:workbench.action.quit)\n````";
  const block = fenced(hostile, "python");
  assert.ok(block.startsWith("`````python\n"));
  const tokens = new MarkdownIt().parse(block, {});
  assert.deepEqual(
    tokens.map((t) => t.type),
    ["fence"],
  );
  assert.equal(tokens[0]!.content, `${hostile}\n`);
});

test("answerCode returns the complete fences and flags an unfinished one", () => {
  const answer = [
    "First, the bug.",
    "",
    "```python",
    "def add(a, b):",
    "",
    "    return a + b",
    "```",
    "",
    "Then a test:",
    "",
    "~~~~ js extra",
    "console.log(add(1, 2))",
    "~~~~",
    "",
    "```ts",
    "const half = ",
  ].join("\n");
  const { blocks, unfinished } = answerCode(answer);
  assert.deepEqual(blocks, [
    { language: "python", code: "def add(a, b):\n\n    return a + b\n" },
    { language: "js", code: "console.log(add(1, 2))\n" },
  ]);
  assert.equal(unfinished, true);
  assert.deepEqual(answerCode("no code here"), { blocks: [], unfinished: false });
  assert.equal(answerCode("```\nclosed\n```").unfinished, false);
});

test("codeForRange drops a block's last line break where the replaced text has none", () => {
  assert.equal(codeForRange("return a + b\n", "return a - b"), "return a + b");
  assert.equal(codeForRange("return a + b\n", "return a - b\n"), "return a + b\n");
  assert.equal(codeForRange("x = 1", "y = 2\n"), "x = 1");
});
