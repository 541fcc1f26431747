import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReasonResult } from "../../src/engine/index.js";
import { QUESTIONS, sharedEngine, texts } from "./helpers.js";

/**
 * Token-level speculative decoding on the real embedded pair: the draft proposes up to k tokens,
 * the target checks them in one batch. Greedy decoding must give byte-identical text to the
 * target alone (policy `speculative`) and the same routes and text as the same policy without
 * it (`tokenSpeculation` on arbitrage and rsd), and the counters must add up.
 */
describe("token-level speculation", () => {
  const shared = sharedEngine();

  function checkCounters(r: ReasonResult, label: string) {
    const v = r.stats.verification;
    assert.ok(v.freshAccepted <= v.freshProposed, `${label}: accepted ${v.freshAccepted} <= proposed ${v.freshProposed}`);
    assert.ok(v.accepted <= v.proposed && v.freshProposed <= v.proposed && v.freshAccepted <= v.accepted, `${label}: ${JSON.stringify(v)}`);
    // Every proposed token is either kept or checked and thrown away.
    assert.equal(v.proposed - v.accepted, r.stats.targetVerifyWasted, `${label}: proposed − accepted = verify-wasted`);
    // Kept proposals are committed target tokens (or the step ended on one); they cannot outnumber them.
    assert.ok(v.accepted <= r.stats.tokensByModel.target + r.stats.stepsByModel.target, `${label}: accepted within the target's tokens`);
    assert.equal(r.warnings, undefined, `${label}: no warning on the embedded pair`);
    assert.equal(r.notices, undefined, `${label}: token speculation ran`);
  }

  it("speculative writes byte-identical text to the target, with fewer target decodes, for k = 1, 2, 4, 8", async () => {
    for (const q of QUESTIONS) {
      const target = await shared().reason(q, { policy: "target" });
      for (const draftTokens of [1, 2, 4, 8]) {
        const label = `${q} k=${draftTokens}`;
        const spec = await shared().reason(q, { policy: "speculative", draftTokens });
        assert.equal(spec.text, target.text, label);
        assert.deepEqual(texts(spec), texts(target), `${label}: same steps`);
        assert.equal(spec.answer, target.answer, label);
        assert.ok(
          spec.steps.every((s) => s.model === "target"),
          `${label}: the target writes every step`,
        );
        const v = spec.stats.verification;
        assert.ok(v.rounds > 0 && v.freshProposed > 0, `${label}: the draft proposed (${JSON.stringify(v)})`);
        assert.equal(v.proposed, v.freshProposed, `${label}: no rejected draft step to reuse`);
        assert.ok(v.freshProposed <= draftTokens * v.rounds, `${label}: at most k tokens per round`);
        // The target samples one token per round (its own) and none for the proposals it keeps.
        assert.ok(spec.stats.meters.target.generated < target.stats.meters.target.generated, `${label}: fewer target decodes`);
        assert.equal(
          spec.stats.meters.target.generated + v.accepted,
          target.stats.meters.target.generated,
          `${label}: every target token is either decoded by the target or an accepted proposal`,
        );
        checkCounters(spec, label);
      }
    }
  });

  it("arbitrage and rsd with token speculation route and write exactly as without it", async () => {
    for (const policy of ["arbitrage", "rsd"] as const) {
      for (const threshold of [0.2, 0.5, 0.8]) {
        for (const q of QUESTIONS) {
          const label = `${policy}@${threshold} ${q}`;
          const plain = await shared().reason(q, { policy, threshold });
          const spec = await shared().reason(q, { policy, threshold, tokenSpeculation: true });
          assert.deepEqual(
            spec.steps.map((s) => [s.model, s.text]),
            plain.steps.map((s) => [s.model, s.text]),
            `${label}: same routes, same steps`,
          );
          // Same scores up to the F16 KV cache of the judges (runtime.ts contextOptions): where a query's tokens sit in the
          // cache can move a score in its 6th or 7th digit, depending on the CPU's kernels (measured: 1.3e-7 on one machine,
          // 1.4e-6 on an AVX2-only EPYC), far below the bench's finest threshold step (0.001).
          const scores = (r: typeof plain) => r.steps.map((s) => s.routerScore ?? s.scorerScore ?? 0);
          const [a, b] = [scores(spec), scores(plain)];
          assert.equal(a.length, b.length, `${label}: same number of scores`);
          assert.ok(
            a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5),
            `${label}: same scores (${a.join(", ")} against ${b.join(", ")})`,
          );
          assert.equal(spec.stats.targetTokensReused, plain.stats.targetTokensReused, `${label}: the rejected draft step is the first proposal`);
          assert.equal(plain.stats.verification.freshProposed, 0, `${label}: without it the draft proposes nothing`);
          if (spec.stats.stepsByModel.target > 0) {
            assert.ok(spec.stats.meters.target.generated <= plain.stats.meters.target.generated, `${label}: no more target decodes`);
          } else {
            assert.equal(spec.stats.verification.rounds, 0, `${label}: no target step, no round`);
          }
          checkCounters(spec, label);
        }
      }
    }
  });

  it("falls back to the target alone, with a warning, where it cannot be exact (temperature > 0)", async () => {
    const q = QUESTIONS[0]!;
    const target = await shared().reason(q, { policy: "target", temperature: 0.7 });
    const spec = await shared().reason(q, { policy: "speculative", temperature: 0.7 });
    assert.equal(spec.text, target.text, "the same seeded sample as the target alone");
    assert.equal(spec.stats.verification.rounds, 0);
    assert.equal(spec.stats.meters.draft.evaluated, 0, "the draft never runs");
    assert.equal(spec.warnings, undefined, "a notice, not a warning against the answer");
    assert.ok(
      spec.notices?.some((w) => /Token-level speculation is off for this request: .*temperature 0/.test(w)),
      JSON.stringify(spec.notices),
    );
  });

  it("the oracle keeps its draft candidate: token speculation is off there, with a warning, and the oracle is unchanged", async () => {
    const q = QUESTIONS[1]!;
    const plain = await shared().reason(q, { policy: "oracle", threshold: 0.2 });
    const spec = await shared().reason(q, { policy: "oracle", threshold: 0.2, tokenSpeculation: true });
    assert.deepEqual(
      spec.steps.map((s) => [s.model, s.text]),
      plain.steps.map((s) => [s.model, s.text]),
    );
    assert.equal(spec.stats.verification.freshProposed, 0);
    assert.ok(
      spec.notices?.some((w) => /Token-level speculation is off for the oracle/.test(w)),
      JSON.stringify(spec.notices),
    );
  });

  it("refuses a bad draftTokens value with the setting's name and range", async () => {
    for (const draftTokens of [0, 65, 2.5, "4"]) {
      await assert.rejects(shared().reason(QUESTIONS[0]!, { policy: "speculative", draftTokens }), (e: Error) => {
        assert.match(e.message, /Invalid draftTokens: .*Use a whole number from 1 to 64\./);
        return true;
      });
    }
  });
});
