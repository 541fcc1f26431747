import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QUESTIONS, sharedEngine, texts } from "./helpers.js";

describe("cancellation mid-step", () => {
  const shared = sharedEngine();

  for (const options of [
    { policy: "arbitrage", threshold: 0.3 },
    { policy: "speculative", draftTokens: 4 },
    { policy: "arbitrage", threshold: 0.3, tokenSpeculation: true },
  ]) {
    it(`stops inside a step, keeps whole steps only, and leaves no KV leftovers (${JSON.stringify(options)})`, async () => {
      const q = QUESTIONS[0]!;
      const fresh = await shared().reason(q, options);
      for (let stopAfter = 1; stopAfter <= 12; stopAfter++) {
        const abort = new AbortController();
        let tokens = 0;
        const partial = await shared().reason(q, options, {
          signal: abort.signal,
          onEvent: (ev) => {
            if (ev.type === "token" && ++tokens === stopAfter) abort.abort();
          },
        });
        assert.equal(partial.finishReason, "cancelled", `cancelled after ${stopAfter} tokens`);
        // Committed steps are a prefix of the fresh answer: a cut step is dropped whole.
        assert.deepEqual(texts(partial), texts(fresh).slice(0, partial.steps.length));
        for (const [role, c] of Object.entries(shared().cacheState())) assert.ok(c.consistent, `${role}: cache is a prefix of the committed text`);
        const again = await shared().reason(q, options);
        assert.deepEqual(texts(again), texts(fresh), `run after cancel #${stopAfter} equals a fresh run`);
      }
    });
  }

  it("rejects a request whose signal is already aborted", async () => {
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(shared().reason(QUESTIONS[1]!, {}, { signal: abort.signal }), { code: "cancelled" });
  });
});
