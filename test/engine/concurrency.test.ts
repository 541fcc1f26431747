import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../../src/engine/index.js";
import { QUESTIONS, sharedEngine, texts } from "./helpers.js";

describe("requests at the same time", () => {
  const shared = sharedEngine();

  it("queues them: each completes as if alone and sees only its own tokens", async () => {
    const reference = new Map<string, string[]>();
    for (const q of QUESTIONS.slice(0, 4)) reference.set(q, texts(await shared().reason(q, { policy: "arbitrage", threshold: 0.4 })));
    const events = new Map<string, EngineEvent[]>();
    const runs = QUESTIONS.slice(0, 4).map((q) => {
      const mine: EngineEvent[] = [];
      events.set(q, mine);
      return shared().reason(q, { policy: "arbitrage", threshold: 0.4 }, { onEvent: (ev) => mine.push(ev) });
    });
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      const q = QUESTIONS[i]!;
      assert.deepEqual(texts(r), reference.get(q), q);
      const streamed = events
        .get(q)!
        .filter((ev) => ev.type === "step-decided")
        .map((ev) => (ev as { step: { text: string } }).step.text);
      assert.deepEqual(streamed, reference.get(q), `${q}: its event stream holds only its own steps`);
    });
  });

  it("keeps serving after a failed request in the queue", async () => {
    const bad = shared().reason("", {});
    const good = shared().reason(QUESTIONS[0]!, { policy: "draft" });
    await assert.rejects(bad, { code: "empty-question" });
    assert.ok((await good).steps.length > 0);
  });
});
