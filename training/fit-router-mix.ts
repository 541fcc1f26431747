/**
 * Mixes the draft step's own token confidences into the trained router and calibrates where the
 * default threshold sits (issue 14). The router reads (context, draft step) and answers with
 * logit_Y − logit_N; the draft's confidences in the step it wrote (the confidence router's five
 * features) say what the router, a 2x64 model reading bytes, sees least well: how surprised the
 * draft was by its own digits. A class-balanced logistic regression on
 * [router logit, features] is fitted on the router's own validation split (rows the router never
 * trained on; training/validation_rows.py), and its score becomes the router file's score:
 *   p = sigmoid(logit_scale · (logit_Y − logit_N) + Σ weight · feature + offset).
 * The offset puts the engine's default threshold (0.3) at the budget the bench's matched accuracy
 * allows: the highest cut at which at most --problem-loss (1%) of the validation problems have a
 * step the target improves that scores below it (each such step, kept, is a likely wrong answer).
 * Nothing is read from the held-out rollouts or the bench sets except the report's held-out AUC.
 *
 * Both models run through node-llama-cpp on the GGUF files the engine loads (the router's raw
 * logits, whatever mix its metadata already has).
 *
 * usage: node --import tsx training/fit-router-mix.ts [--validation training/.cache/router-validation.jsonl]
 *        [--heldout test/fixtures/models/oracle-heldout.jsonl] [--out training/.cache/router-mix.json]
 *        [--problem-loss 0.01] [--threshold 0.3]
 * Writes {logit_scale, confidence: {feature: weight}, offset, report}; export.py --mix writes it into the GGUF.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { getLlama, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { CONFIDENCE_FEATURES, fitLogistic, rocAuc } from "../src/engine/calibration/logistic.js";
import { embeddedModelPath } from "../src/engine/paths.js";
import { withBos } from "../src/engine/prompt.js";
import { draftFeatures, EXACT_CONTEXT, readRows, type OracleRow } from "./oracle-rows.js";

const { values: args } = parseArgs({
  options: {
    validation: { type: "string", default: "training/.cache/router-validation.jsonl" },
    heldout: { type: "string", default: "test/fixtures/models/oracle-heldout.jsonl" },
    out: { type: "string", default: "training/.cache/router-mix.json" },
    "problem-loss": { type: "string", default: "0.01" },
    threshold: { type: "string", default: "0.3" },
  },
});
const problemLoss = Number(args["problem-loss"]);
const threshold = Number(args.threshold);

const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
const draft = await llama.loadModel({ modelPath: embeddedModelPath("draft") });
const router = await llama.loadModel({ modelPath: embeddedModelPath("router") });
const draftSeq = (await draft.createContext(EXACT_CONTEXT)).getSequence();
const routerSeq = (await router.createContext(EXACT_CONTEXT)).getSequence();
const answer = (text: string): Token => router.tokenize(text, false, "trimLeadingSpace")[0]!;
const [yes, no] = [answer("Y"), answer("N")];

/** The router's raw answer logit_Y − logit_N for (context, draft step), its training input (train_cls.encode_ex). */
async function routerLogit(model: LlamaModel, seq: LlamaContextSequence, row: OracleRow): Promise<number> {
  await seq.clearHistory();
  const tokens = withBos(model, model.tokenize(`${row.context}${row.draft_step}\n\n?`, false, "trimLeadingSpace"));
  const input: Parameters<LlamaContextSequence["controlledEvaluate"]>[0] = tokens.slice(0, -1);
  input.push([tokens.at(-1)!, { generateNext: { logits: { filter: { tokens: [yes, no] } } } }]);
  const logits = (await seq.controlledEvaluate(input)).at(-1)!.next.logits!;
  return logits.get(yes)! - logits.get(no)!;
}

async function load(path: string) {
  const rows = readRows(path);
  const x: number[][] = [];
  for (const r of rows) x.push([await routerLogit(router, routerSeq, r), ...(await draftFeatures(draft, draftSeq, r))]);
  return { rows, x, y: rows.map((r) => (r.router_label ? 1 : 0)) };
}

const started = performance.now();
const val = await load(args.validation);
const held = await load(args.heldout);
const logitOf = (w: readonly number[], x: readonly number[]) => x.reduce((a, v, i) => a + v * w[i + 1]!, w[0]!);
const mix = fitLogistic(val.x, val.y);
const alone = fitLogistic(
  val.x.map((x) => [x[0]!]),
  val.y,
);

/** The highest cut on a score at which at most `problemLoss` of the validation problems have a positive step below it. */
function operatingCut(score: (x: readonly number[]) => number): number {
  const lowestPositive = new Map<string, number>();
  val.rows.forEach((r, i) => {
    if (val.y[i] !== 1) return;
    const s = score(val.x[i]!);
    lowestPositive.set(r.problem, Math.min(s, lowestPositive.get(r.problem) ?? Infinity));
  });
  const problems = new Set(val.rows.map((r) => r.problem)).size;
  const lows = [...lowestPositive.values()].sort((a, b) => a - b);
  // Cutting at lows[k] loses the k problems whose lowest positive is below it.
  const k = Math.floor(problemLoss * problems);
  return lows[Math.min(k, lows.length - 1)]!;
}

const summary = (score: (x: readonly number[]) => number) => {
  const cut = operatingCut(score);
  const positives = val.x.filter((_, i) => val.y[i] === 1);
  return {
    validationAuc: rocAuc(val.x.map(score), val.y),
    heldoutAuc: rocAuc(held.x.map(score), held.y),
    stepsSentAtCut: val.x.filter((x) => score(x) >= cut).length / val.x.length,
    recallAtCut: positives.filter((x) => score(x) >= cut).length / positives.length,
  };
};
const cut = operatingCut((x) => logitOf(mix, x));
const offset = Math.log(threshold / (1 - threshold)) - cut + mix[0]!;
const result = {
  logit_scale: mix[1]!,
  confidence: Object.fromEntries(CONFIDENCE_FEATURES.map((f, i) => [f, mix[i + 2]!])),
  offset,
  report: {
    validationRows: val.y.length,
    validationPositives: val.y.filter(Boolean).length,
    validationProblems: new Set(val.rows.map((r) => r.problem)).size,
    heldoutRows: held.y.length,
    problemLoss,
    threshold,
    mix: summary((x) => logitOf(mix, x)),
    routerAlone: summary((x) => logitOf(alone, [x[0]!])),
    seconds: Math.round((performance.now() - started) / 1000),
  },
};
writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
await llama.dispose();
