/**
 * Whether an advantage router separates from a correctness PRM when both read the step with the
 * target's own weights (issue 14: "where the target itself fails often, advantage-aware routing
 * should separate from a reward threshold"). The oracle, with the exact checker, writes both
 * candidates at every step of its path; each draft step gets the router's label (the target's step
 * is better) and the PRM's (the draft's step is wrong), and the target's reading of it
 * (bench/target-reader.mts: largest and mean surprisal, whether the target's top choice differs,
 * and how sure the target is of that choice). Two logistic models on the same features, fitted
 * alike (src/engine/calibration/logistic.ts), one per label, are compared as routers by their
 * ROC-AUC against the router's label, out of fold: 2-fold cross-validation by problem (even and odd
 * lines), pooled.
 *
 * usage: node --import tsx bench/reading-separation.mts [--problems bench/problems/embedded-hard.jsonl] [--threads 1]
 */
import { parseArgs } from "node:util";
import { fitLogistic, rocAuc } from "../src/engine/calibration/logistic.js";
import { loadProblems } from "../src/bench/problems.js";
import { ArbitrageEngine } from "../src/engine/index.js";
import { defaultModelConfig } from "../src/engine/options.js";
import { embeddedModelPath } from "../src/engine/paths.js";
import { buildPrompt } from "../src/engine/prompt.js";
import { loadBackend } from "../src/engine/runtime.js";
import { openModel, READING_FEATURES, TargetReader } from "./target-reader.mjs";

const { values } = parseArgs({
  options: {
    problems: { type: "string", default: "bench/problems/embedded-hard.jsonl" },
    threads: { type: "string", default: "1" },
  },
});
const config = { ...defaultModelConfig(), threads: Number(values.threads) };
const { llama } = await loadBackend("cpu", config.threads);
const reader = new TargetReader(await openModel(llama, config, embeddedModelPath("target"), "target", "classify", true));
const engine = await ArbitrageEngine.create({ threads: config.threads, scorer: "exact" });

interface Row {
  fold: number;
  features: number[];
  targetBetter: number;
  draftWrong: number;
}
const rows: Row[] = [];
const questions = loadProblems(values.problems).map((p) => p.question);
for (const [i, question] of questions.entries()) {
  const pairs: { context: string; draft: string; targetBetter: number; draftWrong: number }[] = [];
  let committed = buildPrompt(reader.target.model, reader.target.check, question, "math").text;
  // Threshold 0: the target's step wins whenever the checker rates it higher than the draft's.
  await engine.reason(
    question,
    { policy: "oracle", threshold: 0 },
    {
      rollout: {
        onStep: (_index, d) => {
          const draft = d.candidates.find((c) => c.model === "draft");
          if (draft && d.scorerScore !== undefined && d.targetScorerScore !== undefined) {
            const targetBetter = d.targetScorerScore > d.scorerScore ? 1 : 0;
            pairs.push({ context: committed, draft: draft.text, targetBetter, draftWrong: d.scorerScore < 1 ? 1 : 0 });
          }
          committed += d.chosen.text;
        },
      },
    },
  );
  for (const p of pairs) {
    await reader.prepare(p.context);
    const reading = await reader.read(p.draft);
    rows.push({ fold: i % 2, features: READING_FEATURES.map((f) => reading[f]), targetBetter: p.targetBetter, draftWrong: p.draftWrong });
  }
}
await engine.dispose();

const logit = (w: number[], x: number[]) => x.reduce((a, v, j) => a + v * w[j + 1]!, w[0]!);
/** Out-of-fold routing scores of a model fitted on `label` (higher: send to the target). */
function outOfFold(label: (r: Row) => number, sign: 1 | -1): number[] {
  const scores = new Array<number>(rows.length);
  for (const fold of [0, 1]) {
    const train = rows.filter((r) => r.fold !== fold);
    const w = fitLogistic(
      train.map((r) => r.features),
      train.map(label),
    );
    rows.forEach((r, i) => {
      if (r.fold === fold) scores[i] = sign * logit(w, r.features);
    });
  }
  return scores;
}
const targetBetter = rows.map((r) => r.targetBetter);
const draftWrong = rows.map((r) => r.draftWrong);
const router = outOfFold((r) => r.targetBetter, 1);
const prm = outOfFold((r) => 1 - r.draftWrong, -1);
const auc = (s: number[], y: number[]) => rocAuc(s, y)!.toFixed(4);
const count = (y: number[]) => y.filter((v) => v === 1).length;
console.log(`${values.problems}: ${questions.length} problems, ${rows.length} step pairs on the oracle's path`);
console.log(`  target step better: ${count(targetBetter)}; draft step wrong: ${count(draftWrong)}`);
console.log(`features (the target's reading): ${READING_FEATURES.join(", ")}; 2-fold by problem, out of fold`);
console.log(`                                      AUC vs target better   AUC vs draft wrong`);
console.log(`  router, fitted on "target better"   ${auc(router, targetBetter)}                 ${auc(router, draftWrong)}`);
console.log(`  PRM, fitted on "draft correct"      ${auc(prm, targetBetter)}                 ${auc(prm, draftWrong)}`);
process.exit(0);
