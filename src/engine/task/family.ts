/**
 * What the embedded models were trained on, and a warning for a question outside it.
 *
 * The embedded draft and target learnt one family (training/task.py: MAX_OPS, MAX_VALUE,
 * MAX_MUL_SMALL): integer `+ - *` with parentheses, every literal, intermediate result and answer
 * between 0 and 99, one factor of each product at most 9, and 1 to 3 operations. Training draws
 * the shapes of 1–3 operations uniformly, so one-operation questions are answered like
 * the rest (`12+7` -> 19) and get no warning.
 * Outside the family the models still write confident-looking steps (`999*999` -> 980), so the
 * engine names what is outside instead of answering silently.
 */
import { applyOp, formatExpression, type Expr } from "./arithmetic.js";

export const EMBEDDED_FAMILY = { maxOps: 3, maxValue: 99, maxSmallFactor: 9 } as const;

/** Why an expression is outside the embedded family (empty when it is inside). */
export function outOfFamilyReasons(expr: Expr): string[] {
  const { maxOps, maxValue, maxSmallFactor } = EMBEDDED_FAMILY;
  const reasons = new Set<string>();
  let ops = 0;
  const walk = (e: Expr): number => {
    if (e.kind === "num") {
      if (e.value > maxValue) reasons.add(`the number ${e.value} is above ${maxValue}`);
      return e.value;
    }
    ops++;
    const a = walk(e.left);
    const b = walk(e.right);
    const v = applyOp(e.op, a, b);
    const shown = `${a}${e.op}${b}=${v}`;
    if (e.op === "*" && Math.min(a, b) > maxSmallFactor) reasons.add(`the product ${a}*${b} has no factor of at most ${maxSmallFactor}`);
    if (v < 0) reasons.add(`the step ${shown} goes below 0`);
    else if (v > maxValue) reasons.add(`the step ${shown} goes above ${maxValue}`);
    return v;
  };
  walk(expr);
  if (ops > maxOps) reasons.add(`it has ${ops} operations (at most ${maxOps})`);
  return [...reasons];
}

/** The warning shown with the answer, or null inside the family. */
export function outOfFamilyWarning(expr: Expr): string | null {
  const reasons = outOfFamilyReasons(expr);
  if (reasons.length === 0) return null;
  return (
    `${formatExpression(expr)} is outside what the embedded demo models were trained on (1–3 operations of + - *, every number and every intermediate result between 0 and ${EMBEDDED_FAMILY.maxValue}, one factor of each product at most ${EMBEDDED_FAMILY.maxSmallFactor}): ` +
    `${reasons.join("; ")}. Their answer is likely wrong — do not trust it.`
  );
}
