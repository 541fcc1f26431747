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
 * `--role prm` gives the PRM the same care, so that rsd is compared against an rsd as good as the
 * router (issue 14's fair baseline): the same features, rows, fit and report, but the PRM's own
 * label (the exact checker's score of the draft step) and its own logit. rsd judges only draft steps,
 * which carry the draft's confidences, so the mix applies there; the file keeps its plain score for a
 * step without them (the oracle also scores the target's step), so the mix's intercept is stored
 * apart as `mix_offset` and no calibration shift is applied (rsd's threshold stays a probability of
 * a correct step, as fitted).
 *
 * usage: node --import tsx training/fit-router-mix.ts [--role router|prm] [--classifier x.gguf] [--validation training/.cache/router-validation.jsonl]
 *        [--heldout test/fixtures/models/oracle-heldout.jsonl] [--out training/.cache/<role>-mix.json]
 *        [--problem-loss 0.01] [--threshold 0.3]
 * Writes {logit_scale, confidence: {feature: weight}, offset | mix_offset, report}; export.py --mix writes it into the GGUF.
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
    role: { type: "string", default: "router" },
    // a candidate classifier GGUF exported elsewhere (default: the committed models/<role>.gguf)
    classifier: { type: "string" },
    out: { type: "string" },
    "problem-loss": { type: "string", default: "0.01" },
    threshold: { type: "string", default: "0.3" },
  },
});
const problemLoss = Number(args["problem-loss"]);
const threshold = Number(args.threshold);
const role = args.role === "prm" ? "prm" : "router";
if (args.role !== role) throw new Error(`--role must be router or prm, not ${JSON.stringify(args.role)}`);
const outPath = args.out ?? `training/.cache/${role}-mix.json`;

const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
const draft = await llama.loadModel({ modelPath: embeddedModelPath("draft") });
const classifier = await llama.loadModel({ modelPath: args.classifier ?? embeddedModelPath(role) });
const draftSeq = (await draft.createContext(EXACT_CONTEXT)).getSequence();
const classifierSeq = (await classifier.createContext(EXACT_CONTEXT)).getSequence();
const answer = (text: string): Token => classifier.tokenize(text, false, "trimLeadingSpace")[0]!;
const [yes, no] = [answer("Y"), answer("N")];

/** The classifier's raw answer logit_Y − logit_N for (context, draft step), its training input (train_cls.encode_ex). */
async function answerLogit(model: LlamaModel, seq: LlamaContextSequence, row: OracleRow): Promise<number> {
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
  for (const r of rows) x.push([await answerLogit(classifier, classifierSeq, r), ...(await draftFeatures(draft, draftSeq, r))]);
  // The router's label, and for the operating point the problems where a kept draft step loses the answer.
  const y = rows.map((r) => (r.router_label ? 1 : 0));
  // The PRM's label is the draft step's correctness; the regression then predicts a wrong step, negated below.
  const fitY = role === "prm" ? rows.map((r) => (r.draft_score === 1 ? 0 : 1)) : y;
  return { rows, x, y, fitY };
}

const started = performance.now();
const val = await load(args.validation);
const held = await load(args.heldout);
const logitOf = (w: readonly number[], x: readonly number[]) => x.reduce((a, v, i) => a + v * w[i + 1]!, w[0]!);
const mix = fitLogistic(val.x, val.fitY);
const alone = fitLogistic(
  val.x.map((x) => [x[0]!]),
  val.fitY,
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
// The router's file answers P(advantage) and its offset moves the default threshold to the cut; the
// PRM's answers P(correct) = sigmoid(−(the fitted logit of a wrong step)), with the fitted intercept.
const sign = role === "prm" ? -1 : 1;
const placement = role === "prm" ? { mix_offset: -mix[0]! } : { offset: Math.log(threshold / (1 - threshold)) - cut + mix[0]! };
const result = {
  logit_scale: sign * mix[1]!,
  confidence: Object.fromEntries(CONFIDENCE_FEATURES.map((f, i) => [f, sign * mix[i + 2]!])),
  ...placement,
  report: {
    validationRows: val.y.length,
    validationPositives: val.y.filter(Boolean).length,
    validationProblems: new Set(val.rows.map((r) => r.problem)).size,
    heldoutRows: held.y.length,
    problemLoss,
    role,
    threshold: role === "router" ? threshold : null,
    mix: summary((x) => logitOf(mix, x)),
    logitAlone: summary((x) => logitOf(alone, [x[0]!])),
    seconds: Math.round((performance.now() - started) / 1000),
  },
};
writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
await llama.dispose();
