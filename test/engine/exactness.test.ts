import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../../src/engine/index.js";
import { QUESTIONS, sharedEngine, plainGreedy } from "./helpers.js";

/**
 * The method's guarantees, checked byte for byte on the real embedded models:
 * single-model policies equal plain greedy generation, and routing at the extremes equals them.
 */
describe("exactness against plain greedy generation", () => {
  const shared = sharedEngine();

  for (const role of ["target", "draft"] as const) {
    it(`${role} policy is byte-identical to node-llama-cpp's completion API`, async () => {
      for (const q of QUESTIONS.slice(0, 4)) {
        const expected = await plainGreedy(role, q);
        const r = await shared().reason(q, { policy: role });
        assert.equal(r.text, expected, `question ${q}`);
        assert.ok(r.steps.every((s) => s.model === role));
        assert.ok(r.steps.length >= 2, "answers have several steps");
      }
    });
  }

  it("arbitrage at threshold 0 equals target, and at threshold 1 equals draft", async () => {
    for (const q of QUESTIONS) {
      const target = await shared().reason(q, { policy: "target" });
      const draft = await shared().reason(q, { policy: "draft" });
      const all = await shared().reason(q, { policy: "arbitrage", threshold: 0 });
      assert.equal(all.text, target.text, `threshold 0, question ${q}`);
      assert.ok(all.steps.every((s) => s.model === "target"));
      const none = await shared().reason(q, { policy: "arbitrage", threshold: 1 });
      assert.ok(
        none.steps.every((s) => (s.routerScore ?? 0) < 1),
        "no router score reaches 1 in this run",
      );
      assert.equal(none.text, draft.text, `threshold 1, question ${q}`);
      assert.equal(none.stats.meters.target.evaluated, 0, "the target never runs when nothing is routed to it");
    }
  });

  it("prefix reuse keeps target steps identical and cuts the target's generated tokens", async () => {
    let generatedWith = 0;
    let generatedWithout = 0;
    let reused = 0;
    for (const q of QUESTIONS) {
      const withReuse = await shared().reason(q, { policy: "arbitrage", threshold: 0, prefixReuse: true });
      const without = await shared().reason(q, { policy: "arbitrage", threshold: 0, prefixReuse: false });
      assert.deepEqual(
        withReuse.steps.map((s) => s.text),
        without.steps.map((s) => s.text),
        `question ${q}`,
      );
      generatedWith += withReuse.stats.meters.target.generated;
      generatedWithout += without.stats.meters.target.generated;
      reused += withReuse.stats.targetTokensReused;
      assert.equal(without.stats.targetTokensReused, 0);
    }
    assert.ok(reused > 0, "some draft tokens were reused");
    assert.equal(generatedWithout - generatedWith, reused, "every reused token is one the target did not generate");
  });

  it("writing the next draft step during judging changes nothing but time", async () => {
    for (const policy of ["arbitrage", "rsd"] as const) {
      for (const threshold of [0.3, 0.6]) {
        for (const q of QUESTIONS) {
          const events: EngineEvent[] = [];
          const fast = await shared().reason(q, { policy, threshold, speculativeDraft: true }, { onEvent: (ev) => events.push(ev) });
          const plain = await shared().reason(q, { policy, threshold, speculativeDraft: false });
          assert.deepEqual(
            fast.steps.map((s) => [s.model, s.text]),
            plain.steps.map((s) => [s.model, s.text]),
            `${policy}@${threshold} ${q}`,
          );
          // Events still arrive in step order: a step's tokens never show before the previous step is decided.
          let decided = -1;
          for (const ev of events) {
            if (ev.type === "step-decided") decided = ev.step.index;
            if (ev.type === "step-started" || ev.type === "token")
              assert.equal(ev.index, decided + 1, `${ev.type} of step ${ev.index} after step ${decided}`);
          }
          for (const s of Object.values(shared().cacheState())) assert.ok(s.consistent);
          // Judging counts on the critical path only where no kept next draft step was being written meanwhile.
          const judged = (r: typeof fast) => r.stats.routerMs + r.stats.scorerMs;
          assert.ok(plain.stats.judgeCriticalMs! >= judged(plain), `plain ${plain.stats.judgeCriticalMs} vs ${judged(plain)}`);
          const adopted = fast.steps.slice(1).filter((s, i) => fast.steps[i]!.model === "draft").length;
          // With a kept next step, the time it overlapped comes off. Compared with the judging's own wall
          // time per step, not the judges' inner meters: those leave out the waiting that contention with
          // the overlapped step adds, so a loaded machine made that comparison fail. The next step starts
          // before its judge and runs longer, so the overlap is most of each such judging; a quarter of it
          // missing from the accounting is a failure, whatever the load.
          const adoptedJudging = fast.steps.slice(0, -1).reduce((sum, s) => sum + (s.model === "draft" ? s.routerMs : 0), 0);
          const judgedWall = fast.steps.reduce((sum, s) => sum + s.routerMs, 0);
          if (adopted > 0)
            assert.ok(
              fast.stats.judgeCriticalMs! < judgedWall - adoptedJudging / 4,
              `speculative ${fast.stats.judgeCriticalMs} vs ${judgedWall} of judging, ${adoptedJudging} of it overlapped by a kept step`,
            );
        }
      }
    }
  });
});
