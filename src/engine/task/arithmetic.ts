/**
 * The embedded arithmetic task: problem format, parser, exact step checker and a seeded
 * problem generator. The Python training code (training/task.py) implements the same
 * contract; both are specified in training/README.md.
 *
 * Question:  `Q: <expr>` — non-negative integers, `+ - *`, parentheses, no spaces.
 * Steps:     one binary operation on two literals per step, `a+b=c` or `a + b = c`,
 *            each followed by a blank line; final step `A: <n>`.
 */

export type Op = "+" | "-" | "*";
export type Expr = { kind: "num"; value: number } | { kind: "bin"; op: Op; left: Expr; right: Expr };

const STEP_RE = /^\s*(\d+)\s*([+\-*])\s*(\d+)\s*=\s*(-?\d+)\s*$/;
const ANSWER_RE = /^\s*A:\s*(-?\d+)\s*$/;

/** Parses an expression with standard precedence and left associativity; null when it is not one. */
export function parseExpression(source: string): Expr | null {
  const text = source.replace(/\s+/g, "");
  let pos = 0;
  const peek = () => text[pos];
  function primary(): Expr | null {
    if (peek() === "(") {
      pos++;
      const inner = sum();
      if (!inner || peek() !== ")") return null;
      pos++;
      return inner;
    }
    const m = /^\d+/.exec(text.slice(pos));
    if (!m) return null;
    pos += m[0].length;
    return { kind: "num", value: Number(m[0]) };
  }
  function product(): Expr | null {
    let left = primary();
    while (left && peek() === "*") {
      pos++;
      const right = primary();
      if (!right) return null;
      left = { kind: "bin", op: "*", left, right };
    }
    return left;
  }
  function sum(): Expr | null {
    let left = product();
    while (left && (peek() === "+" || peek() === "-")) {
      const op = text[pos++] as Op;
      const right = product();
      if (!right) return null;
      left = { kind: "bin", op, left, right };
    }
    return left;
  }
  if (text.length === 0) return null;
  const expr = sum();
  return expr && pos === text.length ? expr : null;
}

export function applyOp(op: Op, a: number, b: number): number {
  return op === "+" ? a + b : op === "-" ? a - b : a * b;
}

export function evaluate(expr: Expr): number {
  return expr.kind === "num" ? expr.value : applyOp(expr.op, evaluate(expr.left), evaluate(expr.right));
}

export function countOps(expr: Expr): number {
  return expr.kind === "num" ? 0 : 1 + countOps(expr.left) + countOps(expr.right);
}

/** Prints an expression with only the parentheses its structure needs. */
export function formatExpression(expr: Expr): string {
  if (expr.kind === "num") return String(expr.value);
  const prec = (e: Expr) => (e.kind === "num" ? 3 : e.op === "*" ? 2 : 1);
  const p = prec(expr);
  const l = formatExpression(expr.left);
  const r = formatExpression(expr.right);
  // Left-associative: the right operand needs parentheses at equal precedence for - (and for + / * it is harmless to keep structure).
  const left = prec(expr.left) < p ? `(${l})` : l;
  const right = prec(expr.right) < p || (prec(expr.right) === p && expr.right.kind === "bin") ? `(${r})` : r;
  return `${left}${expr.op}${right}`;
}

/**
 * Pulls the expression out of a user's question: "Q: (1+2)*3", "(1+2)*3", "What is (1+2)*3?".
 * Returns null when the question holds no expression of the task family.
 */
export function extractExpression(question: string): string | null {
  const trimmed = question.trim().replace(/^Q:\s*/i, "");
  const direct = parseExpression(trimmed.replace(/[?=.]\s*$/, ""));
  if (direct && countOps(direct) >= 1) return formatExpression(direct);
  const candidates = trimmed.match(/[\d()+\-*\s]{3,}/g) ?? [];
  for (const c of candidates.sort((a, b) => b.length - a.length)) {
    const e = parseExpression(c);
    if (e && countOps(e) >= 1) return formatExpression(e);
  }
  return null;
}

export interface ParsedStep {
  kind: "op" | "answer" | "other";
  a?: number;
  op?: Op;
  b?: number;
  c?: number;
  answer?: number;
}

export function parseStep(stepText: string): ParsedStep {
  const line = stepText.trim();
  const m = STEP_RE.exec(line);
  if (m) return { kind: "op", a: Number(m[1]), op: m[2] as Op, b: Number(m[3]), c: Number(m[4]) };
  const a = ANSWER_RE.exec(line);
  if (a) return { kind: "answer", answer: Number(a[1]) };
  return { kind: "other" };
}

/** Finds the leftmost reducible node (both children literals) matching (a, op, b); returns a path to it. */
function findReducible(expr: Expr, a: number, op: Op, b: number): Expr | null {
  if (expr.kind === "num") return null;
  if (expr.left.kind === "num" && expr.right.kind === "num") {
    return expr.op === op && expr.left.value === a && expr.right.value === b ? expr : null;
  }
  return findReducible(expr.left, a, op, b) ?? findReducible(expr.right, a, op, b);
}

function replaceNode(expr: Expr, target: Expr, value: number): Expr {
  if (expr === target) return { kind: "num", value };
  if (expr.kind === "num") return expr;
  return { ...expr, left: replaceNode(expr.left, target, value), right: replaceNode(expr.right, target, value) };
}

/**
 * The exact step checker ("ideal PRM"). State is the current expression; a step is correct when it
 * reduces one legal operation correctly, and the answer step is correct when it states the fully
 * reduced value. Wrong results propagate into the state, as the text the model conditions on does.
 */
export class ArithmeticChecker {
  private state: Expr;

  constructor(readonly question: Expr) {
    this.state = question;
  }

  static fromQuestion(question: string): ArithmeticChecker | null {
    const source = extractExpression(question);
    const expr = source ? parseExpression(source) : null;
    return expr ? new ArithmeticChecker(expr) : null;
  }

  /** Score without changing the state: 1 correct, 0 incorrect. */
  score(stepText: string): number {
    const step = parseStep(stepText);
    if (step.kind === "answer") return this.state.kind === "num" && this.state.value === step.answer ? 1 : 0;
    if (step.kind !== "op") return 0;
    const node = findReducible(this.state, step.a!, step.op!, step.b!);
    return node && applyOp(step.op!, step.a!, step.b!) === step.c ? 1 : 0;
  }

  /** Advances the state by a committed step. */
  apply(stepText: string): void {
    const step = parseStep(stepText);
    if (step.kind !== "op") return;
    const node = findReducible(this.state, step.a!, step.op!, step.b!);
    if (node) this.state = replaceNode(this.state, node, step.c!);
  }

  get trueValue(): number {
    return evaluate(this.question);
  }
}

/** The canonical solution text (leftmost reducible operation first), in compact or spaced wording. */
export function solve(expr: Expr, spaced: boolean): string[] {
  const steps: string[] = [];
  let state = expr;
  const firstReducible = (e: Expr): Expr | null =>
    e.kind === "num" ? null : e.left.kind === "num" && e.right.kind === "num" ? e : (firstReducible(e.left) ?? firstReducible(e.right));
  for (let node = firstReducible(state); node && node.kind === "bin"; node = firstReducible(state)) {
    const a = (node.left as { value: number }).value;
    const b = (node.right as { value: number }).value;
    const c = applyOp(node.op, a, b);
    steps.push(spaced ? `${a} ${node.op} ${b} = ${c}` : `${a}${node.op}${b}=${c}`);
    state = replaceNode(state, node, c);
  }
  steps.push(`A: ${evaluate(expr)}`);
  return steps;
}
