import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import { checkModelFile, defaultModelConfig, embeddedModelPath, packageRoot } from "../../src/engine/index.js";
import { ClassifierSession, classifierSpecFromMetadata } from "../../src/engine/classifier-session.js";
import { ModelJudge } from "../../src/engine/judges.js";
import type { CandidateStep } from "../../src/engine/model-session.js";
import { buildPrompt } from "../../src/engine/prompt.js";
import { createContext, loadLlama, loadModel } from "../../src/engine/runtime.js";
import { THREADS } from "./helpers.js";

/**
 * The production judge path — ModelJudge over ClassifierSession, with its incremental cache,
 * committed text appended step by step and each query tail erased after its answer — against
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

async function judgeFor(
  role: "router" | "prm",
): Promise<{ judge: ModelJudge; session: ClassifierSession; prompt: (q: string) => Token[]; tokenize: (t: string) => Token[] }> {
  const config = { ...defaultModelConfig(), threads: THREADS };
  const path = embeddedModelPath(role);
  const check = await checkModelFile(path, role);
  const llama = await loadLlama(config.gpu, config.threads);
  const model = await loadModel(llama, check, role, config);
  const context = await createContext(model, check, config, role);
  const session = new ClassifierSession(model, context.getSequence(), classifierSpecFromMetadata(check.arbitrage, path));
  return {
    judge: new ModelJudge(role, session),
    session,
    prompt: (q) => buildPrompt(model, check, q, "math").tokens,
    tokenize: (t) => model.tokenize(t, false, "trimLeadingSpace"),
  };
}

const shifted = (p: number, offset: number) => 1 / (1 + Math.exp(-(Math.log(p / (1 - p)) + offset)));

describe("the engine's judges against PyTorch, mid-answer", () => {
  for (const role of ["router", "prm"] as const) {
    it(`${role}: ModelJudge probabilities equal PyTorch's within 1e-4 after commits and erased queries`, async () => {
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
          await judge.judge(step(r.target_step));
          const want =
            role === "router"
              ? [[r.draft_step, r.router_p]]
              : [
                  [r.draft_step, r.prm_p_draft],
                  [r.target_step, r.prm_p_target],
                ];
          for (const [text, raw] of want as Array<[string, number]>) {
            // PyTorch's raw probability, shifted by the file's calibrated logit offset (router_offset.py) as the engine reads it.
            const p = shifted(raw, session.spec.offset);
            const got = await judge.judge(step(text));
            worst = Math.max(worst, Math.abs(got - p));
            assert.ok(Math.abs(got - p) <= 1e-4, `${r.problem} step ${i} ${JSON.stringify(text)}: engine ${got}, PyTorch ${p}`);
            compared++;
          }
          const next = answer[i + 1];
          if (next) judge.commit(next.context.slice(r.context.length), () => tokenize(next.context.slice(r.context.length)));
        }
        // The cache never keeps a query: it holds at most the committed context.
        const committed = prompt(answer[0]!.problem).length + tokenize(answer.at(-1)!.context.slice(`Q: ${answer[0]!.problem}\n\n`.length)).length;
        assert.ok(session.sequence.nextTokenIndex <= committed, `cache ${session.sequence.nextTokenIndex} <= committed ${committed}`);
      }
      assert.ok(compared >= 60, `compared ${compared} probabilities (worst difference ${worst})`);
      await session.model.dispose();
    });
  }
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
  it("the embedded router carries one, the PRM none", async () => {
    for (const [role, has] of [
      ["router", true],
      ["prm", false],
    ] as const) {
      const check = await checkModelFile(embeddedModelPath(role), role);
      assert.equal(classifierSpecFromMetadata(check.arbitrage, role).offset !== 0, has, role);
    }
  });
});
