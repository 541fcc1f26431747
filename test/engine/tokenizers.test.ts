import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { embeddedModelPath, type ArbitrageEngine } from "../../src/engine/index.js";
import { writeTokenizerVariant } from "../fixtures/tokenizer-variant.js";
import { QUESTIONS, engine, texts } from "./helpers.js";

describe("draft and target with different tokenizers", () => {
  let dir: string;
  let same: ArbitrageEngine;
  let different: ArbitrageEngine;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "arbitrage-tok-"));
    const variant = join(dir, "draft-qwen2-pre.gguf");
    await writeTokenizerVariant(embeddedModelPath("draft"), variant);
    same = await engine();
    different = await engine({ draft: variant });
  });
  after(async () => {
    await same?.dispose();
    await different?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("detects the difference and re-tokenises committed text at step boundaries", async () => {
    assert.equal(same.info().sameTokenizer, true, "identical vocabularies take the fast path");
    assert.equal(different.info().sameTokenizer, false);
    assert.match(different.warnings.join(" "), /tokenizers differ/);
    for (const q of QUESTIONS) {
      for (const threshold of [0.2, 0.6]) {
        const a = await same.reason(q, { policy: "arbitrage", threshold });
        const b = await different.reason(q, { policy: "arbitrage", threshold });
        // Same bytes either way (this vocabulary has no merges), so the answers must match step for step.
        assert.deepEqual(texts(b), texts(a), `${q} @ ${threshold}`);
        assert.deepEqual(
          b.steps.map((s) => s.model),
          a.steps.map((s) => s.model),
        );
        assert.equal(b.stats.targetTokensReused, 0, "prefix reuse needs one vocabulary");
        for (const s of Object.values(different.cacheState())) assert.ok(s.consistent);
      }
    }
  });
});
