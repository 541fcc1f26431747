import assert from "node:assert/strict";
import { test } from "node:test";
import { hasStepBoundary, insideCodeFence } from "../../src/engine/step-boundary.js";

test("a fence is open until a closing line of the same character, at least as long, with nothing after it", () => {
  assert.equal(insideCodeFence("Let's write it.\n\n```python\ndef add(a, b):\n    return a + b\n"), true);
  assert.equal(insideCodeFence("```python\ndef add(a, b):\n    return a + b\n```"), false);
  assert.equal(insideCodeFence("````\n```\nstill inside\n"), true, "a shorter fence does not close a longer one");
  assert.equal(insideCodeFence("~~~\n```\n"), true, "backticks do not close a tilde fence");
  assert.equal(insideCodeFence("```js\nx\n``` trailing"), true, "a closing fence has nothing after it");
  assert.equal(insideCodeFence("plain text with `inline` code\n"), false);
  assert.equal(insideCodeFence("    ```\nindented four spaces is code, not a fence\n"), false);
});

test("a blank line ends a step only outside a code fence", () => {
  const inside = "```python\ndef add(a, b):\n    return a + b\n\ndef mul(a, b):";
  assert.equal(hasStepBoundary(inside, "\n\n", 0), false, "the blank line between two functions of one block");
  const after = "```python\ndef add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a * b\n```\n\n";
  assert.equal(hasStepBoundary(after, "\n\n", 0), true, "the blank line after the closing fence");
  assert.equal(hasStepBoundary("First, 12+7=19.\n\n", "\n\n", 0), true);
  assert.equal(hasStepBoundary("First, 12+7=19.\n\n", "\n\n", 15), true, "found from the newest token's start");
  assert.equal(hasStepBoundary("First, 12+7=19.\n\nNext", "\n\n", 17), false, "a boundary before `from` was already seen");
});
