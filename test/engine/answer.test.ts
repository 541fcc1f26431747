import assert from "node:assert/strict";
import { test } from "node:test";
import { extractFinalAnswer } from "../../src/engine/index.js";

/** Texts as models wrote them (SmolLM2-135M-Instruct, Gemma 3 270M, the embedded pair, and an R1-style reasoning answer). */
const CASES: Array<[name: string, text: string, marker: string, want: string | null]> = [
  ["embedded marker line", "12+7=19\n\n19*3=57\n\n57-5=52\n\nA: 52", "A:", "52"],
  ["marker wins over later numbers", "A: 52\n\n(check: 19*3=57)", "A:", "52"],
  ["boxed", "We add the numbers.\n\n$12 + 7 = 19$\n\nSo the answer is \\boxed{19}.", "A:", "19"],
  ["nested braces in boxed", "Thus \\boxed{\\frac{1}{2}} is the probability.", "", "\\frac{1}{2}"],
  ["last boxed of several", "First guess \\boxed{3}.\n\nCorrection: \\boxed{4}", "", "4"],
  ["empty boxed is skipped", "\\boxed{7} then \\boxed{}", "", "7"],
  ["the answer is (SmolLM2)", "12 + 7 = 8\n\nThe answer is 8.", "A:", "8"],
  ["answer phrase with units", "She has 3 + 4 apples.\n\nThe answer is 7 apples.", "", "7"],
  ["final answer colon", "Step 1: 20*3 = 60\n\nFinal answer: 60", "", "60"],
  ["answer is a word", "Paris is in France.\n\nThe answer is Paris.", "", "Paris"],
  ["last number fallback (Gemma base)", "12+7 = 19\n\nQuestion: What is 12+7?\n\n", "A:", "7"],
  ["thousands separator", "The total is 1,234,567 dollars.", "", "1234567"],
  ["negative and decimal", "The result is -3.5 after all.", "", "-3.5"],
  ["nothing", "I cannot help with that.", "", null],
  [
    "think block: answer after </think>",
    "<think>\nLet me compute 12+7. That is 19.\n\nWait, double check: 12+7=19. Also 3 and 4.\n</think>\n\nThe sum is \\boxed{19}.",
    "",
    "19",
  ],
  ["think block: numbers inside are ignored when an answer follows", "<think>\ntry 5, then 6\n</think>\n\nThe answer is 11.", "", "11"],
  ["think block cut off: answer from inside", "<think>\nSo the answer is 42.\n\n</think>", "", "42"],
  ["unclosed think block", "<think>\n2*21=42\n\nso 42", "", "42"],
];

for (const [name, text, marker, want] of CASES) {
  test(`extractFinalAnswer: ${name}`, () => {
    assert.equal(extractFinalAnswer(text, marker), want);
  });
}
