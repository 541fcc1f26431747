import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import { checkModelFile, defaultModelConfig, embeddedModelPath, packageRoot } from "../../src/engine/index.js";
import { ClassifierSession, classifierSpecFromMetadata } from "../../src/engine/classifier-session.js";
import { CONFIDENCE_FEATURES, featureVector } from "../../src/engine/calibration/logistic.js";
import { ModelJudge } from "../../src/engine/judges.js";
import type { CandidateStep } from "../../src/engine/step.js";
import { buildPrompt } from "../../src/engine/prompt.js";
import { createContext, loadLlama, loadModel } from "../../src/engine/runtime.js";
import { THREADS } from "./helpers.js";

/**
 * The production judge path — ModelJudge over ClassifierSession, with its incremental cache,
 * committed text appended step by step and each query's tail kept until the next query reuses or
 * erases it — against
 * PyTorch's probabilities for the same (context, step) pairs (test/fixtures/models/oracle-heldout.jsonl,
 * written by training/make_fixtures.py). Rows of one problem are judged in answer order, each after
 * a distracting query on the other candidate, so every judgement happens mid-answer, after commits
 * and erases, exactly as in the engine.
 */
interface OracleRow {
  problem: string;
  context: string;
  draft_step: string;
  target_step: string;
  router_p: number;
  prm_p_draft: number;
  prm_p_target: number;
}

const rows = readFileSync(join(packageRoot(), "test", "fixtures", "models", "oracle-heldout.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as OracleRow);

function byProblem(limit: number): OracleRow[][] {
  const groups = new Map<string, OracleRow[]>();
  for (const r of rows) groups.set(r.problem, [...(groups.get(r.problem) ?? []), r]);
  // Only answers whose rows chain (each context extends the previous one) replay as one request.
  return [...groups.values()].filter((g) => g.length >= 2 && g.every((r, i) => i === 0 || r.context.startsWith(g[i - 1]!.context))).slice(0, limit);
}

const step = (text: string): CandidateStep => ({
  model: "draft",
  tokens: [],
  text: `${text}\n\n`,
  endedBy: "delimiter",
  reused: 0,
  verifyWasted: 0,
  verification: { rounds: 0, proposed: 0, accepted: 0, freshProposed: 0, freshAccepted: 0 },
  ms: 0,
});

/**
 * A judge over the embedded model. `asFiled` false (the PyTorch comparisons) reads the model's own
 * answer, sigmoid(logit_Y − logit_N), without the offset and confidence mix the router file adds
 * (fixture rows have PyTorch's raw probability and no draft confidences).
 */
async function judgeFor(
  role: "router" | "prm",
  asFiled = false,
): Promise<{ judge: ModelJudge; session: ClassifierSession; prompt: (q: string) => Token[]; tokenize: (t: string) => Token[] }> {
  const config = { ...defaultModelConfig(), threads: THREADS };
  const path = embeddedModelPath(role);
  const check = await checkModelFile(path, role);
  const llama = await loadLlama(config.gpu, config.threads);
  const model = await loadModel(llama, check, role, config);
  const context = await createContext(model, check, config, role, "classify");
  const spec = classifierSpecFromMetadata(check.arbitrage, path);
  const session = new ClassifierSession(model, context.getSequence(), asFiled ? spec : { ...spec, confidence: null, offset: 0 });
  return {
    judge: new ModelJudge(role, session),
    session,
    prompt: (q) => buildPrompt(model, check, q, "math").tokens,
    tokenize: (t) => model.tokenize(t, false, "trimLeadingSpace"),
  };
}

/**
 * A classifier's context keeps llama.cpp's F16 KV cache (src/engine/runtime.ts contextOptions): measured
 * worst differences from PyTorch's F32 over these rows, 1.2e-3 (router) and 2.4e-3 (PRM). With an F32
 * cache they were within 1e-4, and test/models/models.test.ts still checks the files themselves
 * against PyTorch to 3.9e-6 on exact contexts.
 */
const F16_KV_TOLERANCE = 3e-3;

/** The (step, PyTorch probability) pairs a row checks, in the order they are judged. */
const want = (r: OracleRow, role: "router" | "prm"): Array<[string, number]> =>
  role === "router"
    ? [[r.draft_step, r.router_p]]
    : [
        [r.draft_step, r.prm_p_draft],
        [r.target_step, r.prm_p_target],
      ];

describe("the engine's judges against PyTorch, mid-answer", () => {
  for (const role of ["router", "prm"] as const) {
    it(`${role}: ModelJudge probabilities equal PyTorch's within ${F16_KV_TOLERANCE} after commits and kept or erased queries`, async () => {
      const { judge, session, prompt, tokenize } = await judgeFor(role);
      let compared = 0;
      let worst = 0;
      for (const answer of byProblem(40)) {
        await judge.begin({ question: answer[0]!.problem, promptTokens: () => prompt(answer[0]!.problem), delimiter: "\n\n" });
        // The fixture's first row may start mid-answer: its earlier steps are committed text.
        const before = answer[0]!.context.slice(`Q: ${answer[0]!.problem}\n\n`.length);
        if (before !== "") judge.commit(before, () => tokenize(before));
        for (let i = 0; i < answer.length; i++) {
          const r = answer[i]!;
          // A query on the other candidate first: its tokens must be erased without a trace.
          await judge.judge(step(r.target_step), i);
          for (const [text, p] of want(r, role)) {
            const got = await judge.judge(step(text), i);
            worst = Math.max(worst, Math.abs(got - p));
            assert.ok(Math.abs(got - p) <= F16_KV_TOLERANCE, `${r.problem} step ${i} ${JSON.stringify(text)}: engine ${got}, PyTorch ${p}`);
            compared++;
          }
          const next = answer[i + 1];
          if (next) judge.commit(next.context.slice(r.context.length), () => tokenize(next.context.slice(r.context.length)));
        }
        // The cache holds the committed context and, after it, at most the last query (step + query tokens).
        const committed = prompt(answer[0]!.problem).length + tokenize(answer.at(-1)!.context.slice(`Q: ${answer[0]!.problem}\n\n`.length)).length;
        const lastQuery = tokenize(want(answer.at(-1)!, role).at(-1)![0] + session.spec.query).length;
        assert.ok(
          session.sequence.nextTokenIndex <= committed + lastQuery,
          `cache ${session.sequence.nextTokenIndex} <= ${committed} + ${lastQuery}`,
        );
      }
      assert.ok(compared >= 60, `compared ${compared} probabilities (worst difference ${worst})`);
      await session.model.dispose();
    });
  }
});

describe("the classifier's cache across a committed step", () => {
  it("does not evaluate a judged step again when that step is committed, and scores as a fresh session does", async () => {
    const { judge, session, prompt, tokenize } = await judgeFor("router");
    const fresh = await judgeFor("router");
    const problem = "6*(14-9)+53";
    const run = { question: problem, promptTokens: () => prompt(problem), delimiter: "\n\n" };
    await judge.begin(run);
    await judge.judge(step("14-9=5"), 0);
    judge.commit("14-9=5\n\n", () => tokenize("14-9=5\n\n"));
    const before = session.meter.evaluated;
    const got = await judge.judge(step("6*5=30"), 1);
    // Only the new step and its query are evaluated: the committed "14-9=5\n\n" is held from the last query ("14-9=5" + "\n\n?").
    assert.equal(session.meter.evaluated - before, tokenize("6*5=30" + session.spec.query).length);
    // A committed step that is not the judged one (the target's) replaces what the cache held.
    judge.commit("6*5=31\n\n", () => tokenize("6*5=31\n\n"));
    const after = await judge.judge(step("31+53=84"), 2);
    await fresh.judge.begin(run);
    fresh.judge.commit("14-9=5\n\n", () => tokenize("14-9=5\n\n"));
    assert.ok(Math.abs((await fresh.judge.judge(step("6*5=30"), 1)) - got) <= 1e-6);
    fresh.judge.commit("6*5=31\n\n", () => tokenize("6*5=31\n\n"));
    assert.ok(Math.abs((await fresh.judge.judge(step("31+53=84"), 2)) - after) <= 1e-6);
    await session.model.dispose();
    await fresh.session.model.dispose();
  });

  it("reads a step's own token ids as it reads its text, for a judge that shares the generators' vocabulary", async () => {
    const { session, prompt, tokenize } = await judgeFor("router");
    const byIds = new ModelJudge("router", session, true);
    const byText = await judgeFor("router");
    const problem = "6*(14-9)+53";
    const run = { question: problem, promptTokens: () => prompt(problem), delimiter: "\n\n" };
    await byIds.begin(run);
    await byText.judge.begin(run);
    for (const [i, [text, next]] of (
      [
        ["14-9=5", "14-9=5"],
        ["6*5=31", "6*5=30"],
        ["30+53=83", "30+53=83"],
      ] as const
    ).entries()) {
      const candidate = { ...step(text), tokens: tokenize(`${text}\n\n`) };
      const a = await byIds.judge(candidate, i);
      const b = await byText.judge.judge(step(text), i);
      assert.ok(Math.abs(a - b) <= 1e-6, `${text}: ids ${a}, text ${b}`);
      byIds.commit(`${next}\n\n`, () => tokenize(`${next}\n\n`));
      byText.judge.commit(`${next}\n\n`, () => tokenize(`${next}\n\n`));
    }
    await session.model.dispose();
    await byText.session.model.dispose();
  });
});

describe("the router file's confidence mix (training/fit-router-mix.ts)", () => {
  it("scores sigmoid(logit_scale · answer + Σ weight · feature + offset) over the draft step's confidence features", async () => {
    const filed = await judgeFor("router", true);
    const raw = await judgeFor("router");
    const mix = filed.session.spec.confidence;
    assert.ok(mix, "the embedded router mixes in the draft's confidences");
    assert.equal(filed.judge.needsConfidences, true);
    assert.equal(raw.judge.needsConfidences, false);
    const problem = "6*(14-9)+53";
    for (const j of [filed, raw]) await j.judge.begin({ question: problem, promptTokens: () => j.prompt(problem), delimiter: "\n\n" });
    for (const [text, confidences] of [
      ["14-9=5", [0.99, 0.98, 0.97, 0.99, 0.9, 0.99, 0.99, 0.99]],
      ["6+53=59", [0.97, 0.41, 0.9, 0.62, 0.99, 0.35, 0.99, 0.99]],
    ] as const) {
      const answer = await raw.judge.judge(step(text), 1);
      const got = await filed.judge.judge({ ...step(text), confidences: [...confidences] }, 1);
      const features = featureVector(confidences, 1);
      const z = mix.logitScale * Math.log(answer / (1 - answer)) + mix.weights.reduce((a, w, i) => a + w * features[i]!, 0) + mix.offset;
      assert.ok(Math.abs(got - 1 / (1 + Math.exp(-z))) <= 1e-9, `${text}: ${got}`);
    }
    // Less sure of its own digits, the draft's step scores higher: the mix reads the confidences.
    const sure = await filed.judge.judge({ ...step("6*5=30"), confidences: [0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99] }, 1);
    const unsure = await filed.judge.judge({ ...step("6*5=30"), confidences: [0.99, 0.5, 0.99, 0.4, 0.99, 0.99, 0.99] }, 1);
    assert.ok(unsure > sure, `unsure ${unsure} > sure ${sure}`);
    await assert.rejects(filed.judge.judge(step("6*5=30"), 1), /mixes in the draft's token confidences/);
    // The router's mix shares the file's calibrated offset (it has no mix_offset of its own).
    assert.equal(mix.offset, filed.session.spec.offset);
    await filed.session.model.dispose();
    await raw.session.model.dispose();
  });

  it("the PRM's mix (fit-router-mix.ts --role prm) scores a draft step with its confidences, and any step without them plainly", async () => {
    const config = { ...defaultModelConfig(), threads: THREADS };
    const check = await checkModelFile(embeddedModelPath("prm"), "prm");
    const llama = await loadLlama(config.gpu, config.threads);
    const model = await loadModel(llama, check, "prm", config);
    const spec = classifierSpecFromMetadata(check.arbitrage, "prm");
    const mix = spec.confidence;
    assert.ok(mix, "the embedded PRM mixes in the draft's confidences");
    assert.equal(spec.offset, 0, "its plain score keeps no offset");
    assert.notEqual(mix.offset, 0, "the mix has its own intercept (arbitrage.classifier.mix_offset)");
    const scorer = new ModelJudge(
      "prm",
      new ClassifierSession(model, (await createContext(model, check, config, "prm", "classify")).getSequence(), spec),
      false,
      "scorer",
    );
    const plain = new ModelJudge(
      "prm",
      new ClassifierSession(model, (await createContext(model, check, config, "prm", "classify")).getSequence(), { ...spec, confidence: null }),
      false,
      "scorer",
    );
    assert.equal(scorer.needsConfidences, true);
    const problem = "6*(14-9)+53";
    const prompt = () => buildPrompt(model, check, problem, "math").tokens;
    for (const j of [scorer, plain]) await j.begin({ question: problem, promptTokens: prompt, delimiter: "\n\n" });
    const confidences = [0.97, 0.41, 0.9, 0.62, 0.99, 0.35, 0.99, 0.99];
    const answer = await plain.judge(step("14-9=5"), 0);
    assert.ok(Math.abs((await scorer.judge(step("14-9=5"), 0)) - answer) <= 1e-9, "without confidences: the plain score");
    const features = featureVector(confidences, 0);
    const z = mix.logitScale * Math.log(answer / (1 - answer)) + mix.weights.reduce((a, w, i) => a + w * features[i]!, 0) + mix.offset;
    const mixed = await scorer.judge({ ...step("14-9=5"), confidences }, 0);
    // The repeated query re-evaluates only its last token (a different batch shape): logits agree to ~1e-6.
    assert.ok(Math.abs(mixed - 1 / (1 + Math.exp(-z))) <= 1e-6, `mixed ${mixed}, expected ${1 / (1 + Math.exp(-z))}`);
    // Less sure of its own digits, the draft's step is less likely correct: the PRM's mix reads the confidences the other way round.
    const sure = await scorer.judge({ ...step("14-9=5"), confidences: confidences.map(() => 0.99) }, 0);
    assert.ok(mixed < sure, `unsure ${mixed} < sure ${sure}`);
    await model.dispose();
  });

  it("is read from the file whole, or refused", () => {
    const meta: Record<string, string> = { "classifier.query": "\n\n?", "classifier.positive": "Y", "classifier.negative": "N" };
    const full: Record<string, string> = {
      ...meta,
      "classifier.logit_scale": "0.4",
      ...Object.fromEntries(CONFIDENCE_FEATURES.map((f, i) => [`classifier.confidence.${f}`, String(i + 1)])),
    };
    assert.equal(classifierSpecFromMetadata(meta, "r.gguf").confidence, null);
    assert.deepEqual(classifierSpecFromMetadata(full, "r.gguf").confidence, { logitScale: 0.4, weights: [1, 2, 3, 4, 5], offset: 0 });
    assert.deepEqual(classifierSpecFromMetadata({ ...full, "classifier.offset": "-2" }, "r.gguf").confidence?.offset, -2);
    const own = classifierSpecFromMetadata({ ...full, "classifier.offset": "-2", "classifier.mix_offset": "3.5" }, "r.gguf");
    assert.deepEqual([own.offset, own.confidence?.offset], [-2, 3.5]);
    const { "classifier.confidence.position": _dropped, ...partial } = full;
    for (const bad of [
      partial,
      { ...full, "classifier.logit_scale": "x" },
      { ...meta, "classifier.confidence.length": "1" },
      { ...full, "classifier.mix_offset": "y" },
    ]) {
      assert.throws(() => classifierSpecFromMetadata(bad, "r.gguf"), { code: "model-corrupt", message: /incomplete or non-numeric confidence mix/ });
    }
  });
});

describe("a classifier's calibrated offset (arbitrage.classifier.offset)", () => {
  const meta = { "classifier.query": "\n\n?", "classifier.positive": "Y", "classifier.negative": "N" };
  it("is read from the file, 0 when absent, and refused when it is not a number", () => {
    assert.equal(classifierSpecFromMetadata(meta, "r.gguf").offset, 0);
    assert.equal(classifierSpecFromMetadata({ ...meta, "classifier.offset": "3.0835" }, "r.gguf").offset, 3.0835);
    assert.throws(() => classifierSpecFromMetadata({ ...meta, "classifier.offset": "three" }, "r.gguf"), {
      code: "model-corrupt",
      message: /arbitrage\.classifier\.offset = "three", which is not a number/,
    });
  });
  it("the embedded router carries one (its mix's), the PRM none (its mix has its own intercept)", async () => {
    for (const [role, has] of [
      ["router", true],
      ["prm", false],
    ] as const) {
      const check = await checkModelFile(embeddedModelPath(role), role);
      const spec = classifierSpecFromMetadata(check.arbitrage, role);
      assert.equal(spec.offset !== 0, has, role);
      assert.ok(spec.confidence, role);
    }
  });
});
