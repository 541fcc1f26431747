import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkReasonOptions } from "../../src/engine/options.js";
import { uniformDraw } from "../../src/engine/random-judge.js";
import { planMethods } from "../../src/bench/methods.js";
import { QUESTIONS, sharedEngine } from "./helpers.js";

/** Random routing: the control every router must beat at the same share of target steps. */
describe("random routing", () => {
  it("draws a reproducible uniform number per (seed, question, step)", () => {
    assert.equal(uniformDraw(0, "(12+7)*3-5", 2), uniformDraw(0, "(12+7)*3-5", 2));
    assert.notEqual(uniformDraw(0, "(12+7)*3-5", 2), uniformDraw(1, "(12+7)*3-5", 2));
    assert.notEqual(uniformDraw(0, "(12+7)*3-5", 2), uniformDraw(0, "(12+7)*3-5", 3));
    const draws = Array.from({ length: 20_000 }, (_, i) => uniformDraw(7, `q${i % 97}`, i));
    assert.ok(draws.every((u) => u >= 0 && u < 1));
    for (const t of [0.1, 0.3, 0.5, 0.9]) {
      const below = draws.filter((u) => u < t).length / draws.length;
      assert.ok(Math.abs(below - t) < 0.015, `share below ${t}: ${below}`);
    }
  });

  it('is accepted as a router and as the bench method "random"', () => {
    const r = checkReasonOptions({ router: "random" });
    assert.ok(r.ok && r.value.router === "random");
    const plan = planMethods(["target", "arbitrage", "random"], "embedded", "embedded", { embeddedPair: true, exactApplies: true });
    const random = plan.methods.find((m) => m.id === "random");
    assert.deepEqual([random?.policy, random?.router, random?.swept], ["arbitrage", "random", true]);
    assert.ok(
      !planMethods(["target", "arbitrage"], "embedded", "embedded", { embeddedPair: true, exactApplies: true }).methods.some(
        (m) => m.id === "random",
      ),
    );
  });

  describe("on the embedded pair", () => {
    const engine = sharedEngine();
    const routes = async (threshold: number) => {
      const out: string[] = [];
      for (const q of QUESTIONS) {
        const r = await engine().reason(q, { policy: "arbitrage", router: "random", threshold, maxSteps: 8 });
        out.push(r.steps.map((s) => (s.model === "draft" ? "d" : "t")).join(""));
      }
      return out;
    };
    const targetShare = (rs: string[]) => rs.join("").replace(/d/g, "").length / rs.join("").length;

    it("is deterministic, sends every step to the target at 0 and none at 1, and about 1 − t between", async () => {
      const all = await routes(0);
      assert.ok(
        all.every((r) => /^t+$/.test(r)),
        all.join(" "),
      );
      const none = await routes(1);
      assert.ok(
        none.every((r) => /^d+$/.test(r)),
        none.join(" "),
      );
      const low = await routes(0.3);
      assert.deepEqual(await routes(0.3), low, "the same run twice routes alike");
      const high = await routes(0.7);
      const [shareLow, shareHigh] = [targetShare(low), targetShare(high)];
      assert.ok(shareLow > shareHigh, `target share ${shareLow} at 0.3, ${shareHigh} at 0.7`);
      assert.ok(Math.abs(shareLow - 0.7) < 0.25 && Math.abs(shareHigh - 0.3) < 0.25, `target share ${shareLow} at 0.3, ${shareHigh} at 0.7`);
      // One draw per step index: a step the draft keeps at 0.3 is kept at 0.7 too.
      low.forEach((route, q) => {
        for (let i = 0; i < Math.min(route.length, high[q]!.length); i++)
          if (route[i] === "d") assert.equal(high[q]![i], "d", `question ${q} step ${i}`);
      });
    });
  });
});
