import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArithmeticChecker, evaluate, extractExpression, parseExpression, solve } from "../../src/engine/task/arithmetic.js";

describe("embedded arithmetic task", () => {
  it("parses with precedence and left associativity", () => {
    assert.equal(evaluate(parseExpression("90-(17+26)*2")!), 4);
    assert.equal(evaluate(parseExpression("10-3-2")!), 5);
    assert.equal(parseExpression("1+"), null);
    assert.equal(parseExpression("(1+2"), null);
  });

  it("extracts the expression from a question in several phrasings", () => {
    assert.equal(extractExpression("Q: (12+7)*3-5"), "(12+7)*3-5");
    assert.equal(extractExpression("What is (12 + 7) * 3 - 5?"), "(12+7)*3-5");
    assert.equal(extractExpression("hello world"), null);
  });

  it("accepts the canonical solution in both wordings and any legal order", () => {
    for (const spaced of [false, true]) {
      const checker = ArithmeticChecker.fromQuestion("2*3+4*5")!;
      for (const step of solve(parseExpression("2*3+4*5")!, spaced)) {
        assert.equal(checker.score(step), 1, step);
        checker.apply(step);
      }
    }
    const other = ArithmeticChecker.fromQuestion("2*3+4*5")!;
    assert.equal(other.score("4*5=20"), 1, "the right product first is legal too");
    assert.equal(other.score("3+4=7"), 0, "precedence is respected");
  });

  it("scores wrong arithmetic, premature answers and garbage as incorrect, and propagates errors", () => {
    const c = ArithmeticChecker.fromQuestion("(12+7)*3")!;
    assert.equal(c.score("12+7=18"), 0);
    assert.equal(c.score("A: 57"), 0, "answer before the work is done");
    assert.equal(c.score("banana"), 0);
    c.apply("12+7=18");
    assert.equal(c.score("18*3=54"), 1, "later steps are judged against the text as written");
    c.apply("18*3=54");
    assert.equal(c.score("A: 54"), 1);
    assert.equal(c.trueValue, 57);
  });
});
