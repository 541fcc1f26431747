import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReasonResult } from "../../src/engine/index.js";
import { QUESTIONS, sharedEngine } from "./helpers.js";

/**
 * KV-cache discipline: each committed token is evaluated once per model (plus at most one re-fed
 * token per step); the only other evaluations are speculative tokens that were thrown away
 * (rejected draft steps, the unkept tail of the target's verification batch, oracle's unchosen
 * target steps). Evaluations are read off the sequence's own position counter, and the cache is
 * compared token by token with the committed text after every request.
 */
describe("KV-cache discipline", () => {
  const shared = sharedEngine();

  function checkMeters(r: ReasonResult, label: string) {
    const { meters, steps } = r.stats;
    const v = r.stats.verification;
    const speculative = {
      // Fresh proposals the target did not keep (token-level speculation) were evaluated by the draft and erased.
      draft: r.stats.draftTokensDiscarded + (v.freshProposed - v.freshAccepted),
      target: r.stats.targetVerifyWasted + r.stats.targetTokensDiscarded,
    };
    for (const role of ["draft", "target"] as const) {
      const m = meters[role];
      assert.ok(
        m.evaluated <= m.committed + steps + speculative[role],
        `${label} ${role}: evaluated ${m.evaluated} <= committed ${m.committed} + steps ${steps} + speculative ${speculative[role]}`,
      );
    }
    const lastWriter = r.steps.at(-1)?.model;
    for (const [role, s] of Object.entries(shared().cacheState())) {
      assert.ok(s.consistent, `${label} ${role}: the cache is a prefix of the committed text`);
      // The model that wrote the last step is up to date but for its pending token; the other one catches up lazily.
      if (role === lastWriter)
        assert.ok(s.committed - s.cached <= 1, `${label} ${role}: at most the pending token is not cached (${s.cached}/${s.committed})`);
    }
  }

  it("single-model policies evaluate nothing twice", async () => {
    for (const policy of ["target", "draft"] as const) {
      for (const q of QUESTIONS) {
        const r = await shared().reason(q, { policy });
        const m = r.stats.meters[policy];
        assert.equal(m.discarded, 0, `${policy}: nothing is thrown away`);
        assert.ok(m.evaluated <= m.committed, `${policy} ${q}: evaluated ${m.evaluated} <= committed ${m.committed}`);
        assert.ok(m.evaluated >= m.committed - 1, `${policy} ${q}: everything but the pending token went through the model`);
        const other = r.stats.meters[policy === "draft" ? "target" : "draft"];
        assert.equal(other.evaluated, 0, `${policy}: the other model never runs`);
        checkMeters(r, `${policy} ${q}`);
      }
    }
  });

  it("token-level speculation evaluates committed text once and only discards rejected proposals", async () => {
    for (const options of [
      { policy: "speculative", draftTokens: 1 },
      { policy: "speculative", draftTokens: 4 },
      { policy: "speculative", draftTokens: 8 },
      { policy: "arbitrage", threshold: 0.5, tokenSpeculation: true },
      { policy: "rsd", threshold: 0.5, tokenSpeculation: true, draftTokens: 2 },
    ]) {
      for (const q of QUESTIONS) {
        const r = await shared().reason(q, options);
        const label = `${JSON.stringify(options)} ${q}`;
        checkMeters(r, label);
        // Proposals the target kept are the draft's committed text: it never evaluates them again.
        if (options.policy === "speculative") {
          const d = r.stats.meters.draft;
          assert.ok(d.evaluated - d.discarded <= d.committed, `${label}: draft kept ${d.evaluated - d.discarded} <= committed ${d.committed}`);
        }
      }
    }
  });

  it("routed policies evaluate committed text once and only discard speculation", async () => {
    for (const policy of ["arbitrage", "rsd", "oracle"] as const) {
      for (const threshold of [0.2, 0.5, 0.8]) {
        for (const q of QUESTIONS) {
          const r = await shared().reason(q, { policy, threshold });
          checkMeters(r, `${policy}@${threshold} ${q}`);
        }
      }
    }
  });
});
