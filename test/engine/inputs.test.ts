import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { embeddedModelPath } from "../../src/engine/index.js";
import { QUESTIONS, engine, sharedEngine } from "./helpers.js";

/** Bad requests reach the engine directly (the protocol and the chat participant pass user text through). */
describe("bad requests to a loaded engine", () => {
  const shared = sharedEngine();
  const fails = (question: unknown, options: unknown, code: string, pattern: RegExp) =>
    assert.rejects(shared().reason(question, options), (err: Error & { code?: string }) => err.code === code && pattern.test(err.message));

  it("rejects empty, non-text, NUL and broken-Unicode questions", async () => {
    await fails("", {}, "empty-question", /question is empty/);
    await fails(" \t\n", {}, "empty-question", /question is empty/);
    await fails(42, {}, "empty-question", /must be text/);
    await fails("1+2\u0000", {}, "invalid-question", /NUL/);
    await fails("1+2\ud800", {}, "invalid-question", /not valid Unicode/);
  });

  it("rejects bad options and questions longer than the context", async () => {
    await fails(QUESTIONS[0], { threshold: Number.NaN }, "invalid-option", /threshold/);
    await fails(QUESTIONS[0], { threshold: "high" }, "invalid-option", /threshold/);
    await fails(QUESTIONS[0], { policy: "speedy" }, "invalid-option", /policy/);
    await fails(QUESTIONS[0], { maxSteps: 0 }, "invalid-option", /maxSteps/);
    await fails(Array.from({ length: 150 }, (_, i) => i).join("+"), {}, "question-too-long", /context holds 256/);
  });

  it("still answers after all of that", async () => {
    const r = await shared().reason(QUESTIONS[0]!, { policy: "draft" });
    assert.ok(r.steps.length > 0);
    for (const s of Object.values(shared().cacheState())) assert.ok(s.consistent);
  });

  it("allows the same file as draft and target, with a warning", async () => {
    const same = await engine({ target: embeddedModelPath("draft") });
    try {
      assert.match(same.warnings.join(" "), /same model file/);
      const a = await same.reason(QUESTIONS[1]!, { policy: "arbitrage", threshold: 0 });
      const d = await same.reason(QUESTIONS[1]!, { policy: "draft" });
      assert.equal(a.text, d.text, "the same model writes the same steps either way");
    } finally {
      await same.dispose();
    }
  });
});

describe("routers and scorers chosen per request", () => {
  it("loads each choice once and keeps the configured one as the default", async () => {
    const e = await engine({ router: "embedded", scorer: "embedded" });
    try {
      const q = QUESTIONS[2]!;
      const byConfidence = await e.reason(q, { policy: "arbitrage", threshold: 0.5, router: "confidence" });
      const byExact = await e.reason(q, { policy: "rsd", threshold: 0.5, scorer: "exact" });
      const byDefault = await e.reason(q, { policy: "rsd", threshold: 0.5 });
      assert.ok(byConfidence.steps.every((s) => typeof s.routerScore === "number"));
      assert.ok(
        byExact.steps.every((s) => s.scorerScore === 0 || s.scorerScore === 1),
        "the exact checker scores 0 or 1",
      );
      assert.ok(
        byDefault.steps.some((s) => s.scorerScore! > 0 && s.scorerScore! < 1),
        "the learned PRM gives probabilities",
      );
      await assert.rejects(e.reason(q, { policy: "arbitrage", router: "/no/such/router.gguf" }), { code: "model-missing" });
      // The embedded router answers P(the target writes a better step), not P(correct): not a scorer.
      await assert.rejects(e.reason(q, { policy: "rsd", scorer: { path: embeddedModelPath("router") } }), {
        code: "invalid-option",
        message: /is a router \(arbitrage.role = "router"\), not a step scorer/,
      });
      assert.ok((await e.reason(q, { policy: "arbitrage" })).steps.length > 0, "a failed judge load leaves the engine serving");
    } finally {
      await e.dispose();
    }
  });
});
