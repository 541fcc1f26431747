import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../../src/engine/index.js";
import { parseExpression } from "../../src/engine/task/arithmetic.js";
import { outOfFamilyReasons, outOfFamilyWarning } from "../../src/engine/task/family.js";
import { QUESTIONS, sharedEngine } from "./helpers.js";

/**
 * Questions outside what the embedded models were trained on (issue 14: `999*999` answered 980
 * without a word) carry a warning in the run-started event and the result, on the real embedded
 * models; questions of the family, one-operation ones included, carry none.
 */
const reasons = (q: string) => outOfFamilyReasons(parseExpression(q)!);

describe("embedded task family", () => {
  it("in the family: 1-3 operations, every number and intermediate 0..99, a small factor in each product", () => {
    for (const q of [...QUESTIONS, "12+7", "9*11", "99-99", "(12+7)*3-5", "2*3*4", "50+49"]) assert.deepEqual(reasons(q), [], q);
  });

  it("outside it, each reason is named", () => {
    assert.deepEqual(reasons("999*999"), [
      "the number 999 is above 99",
      "the product 999*999 has no factor of at most 9",
      "the step 999*999=998001 goes above 99",
    ]);
    assert.deepEqual(reasons("60+50"), ["the step 60+50=110 goes above 99"]);
    assert.deepEqual(reasons("3-5"), ["the step 3-5=-2 goes below 0"]);
    assert.deepEqual(reasons("12*13"), ["the product 12*13 has no factor of at most 9", "the step 12*13=156 goes above 99"]);
    assert.deepEqual(reasons("1+2+3+4+5"), ["it has 4 operations (at most 3)"]);
    assert.deepEqual(reasons("(2+3)*(4+5)-1"), ["it has 4 operations (at most 3)"]);
    assert.equal(outOfFamilyWarning(parseExpression("12+7")!), null);
    assert.match(outOfFamilyWarning(parseExpression("60+50")!)!, /^60\+50 is outside what the embedded demo models were trained on .*likely wrong/);
  });

  describe("on the real embedded models", () => {
    const engine = sharedEngine();
    const run = async (q: string) => {
      const started: Extract<EngineEvent, { type: "run-started" }>[] = [];
      const result = await engine().reason(q, { maxSteps: 8 }, { onEvent: (e) => e.type === "run-started" && started.push(e) });
      assert.equal(started.length, 1);
      return { result, started: started[0]! };
    };

    it("999*999: a warning in the run-started event and the result, before any step is trusted", async () => {
      const { result, started } = await run("What is 999*999?");
      assert.equal(result.warnings?.length, 1);
      assert.match(result.warnings![0]!, /999\*999 is outside what the embedded demo models were trained on.*the number 999 is above 99/);
      assert.deepEqual(started.warnings, result.warnings);
    });

    it("questions of the family, one operation included, carry no warning", async () => {
      for (const q of ["12+7", "(12+7)*3-5"]) {
        const { result, started } = await run(q);
        assert.equal(result.warnings, undefined, q);
        assert.equal(started.warnings, undefined, q);
      }
    });
  });
});
