import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultModelConfig, defaultReasonOptions, validateModelConfig, validateReasonOptions } from "../../src/engine/index.js";

/** The validators shared by the CLI, the engine server and the VS Code settings. */
describe("option validation", () => {
  const rejects = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: Error & { code?: string }) => e.code === "invalid-option" && pattern.test(e.message));

  it("fills defaults and keeps valid values", () => {
    assert.deepEqual(validateReasonOptions(undefined), defaultReasonOptions());
    assert.deepEqual(validateModelConfig({}), defaultModelConfig());
    assert.equal(validateReasonOptions({ threshold: 0 }).threshold, 0);
    assert.equal(validateReasonOptions({ threshold: 1 }).threshold, 1);
    assert.ok(defaultModelConfig().threads >= 1, "threads are always explicit");
  });

  it("rejects bad thresholds, policies and step caps with what is allowed", () => {
    for (const t of [Number.NaN, -0.01, 1.01, "0.5", null, Infinity]) rejects(() => validateReasonOptions({ threshold: t }), /Invalid threshold: .* Use a number from 0 to 1/);
    rejects(() => validateReasonOptions({ policy: "fastest" }), /Invalid policy: "fastest"\. Use one of: arbitrage, rsd, oracle, target, draft/);
    rejects(() => validateReasonOptions({ maxSteps: 0 }), /Invalid maxSteps: 0\. Use a whole number from 1 to 10000/);
    rejects(() => validateReasonOptions({ maxSteps: 1e9 }), /Invalid maxSteps/);
    rejects(() => validateReasonOptions({ maxSteps: 2.5 }), /Invalid maxSteps/);
    rejects(() => validateReasonOptions({ stepDelimiter: "" }), /Invalid stepDelimiter/);
    rejects(() => validateReasonOptions({ temperature: -1 }), /Invalid temperature/);
    rejects(() => validateReasonOptions({ prefixReuse: "yes" }), /Invalid prefixReuse/);
    rejects(() => validateReasonOptions({ treshold: 0.5 }), /Invalid option name: "treshold"/);
    rejects(() => validateReasonOptions("fast"), /Expected an object/);
  });

  it("rejects bad model settings", () => {
    rejects(() => validateModelConfig({ draft: "models/draft.gguf" }), /must be absolute/);
    rejects(() => validateModelConfig({ target: "" }), /Invalid target model/);
    rejects(() => validateModelConfig({ gpu: "tpu" }), /Invalid gpu: "tpu"\. Use one of: auto, cuda, vulkan, metal, cpu/);
    rejects(() => validateModelConfig({ threads: 0 }), /Invalid threads: 0/);
    rejects(() => validateModelConfig({ contextSize: 10 }), /Invalid contextSize/);
    rejects(() => validateModelConfig({ router: "smart" }), /Invalid router: "smart"/);
    rejects(() => validateModelConfig({ scorer: 3 }), /Invalid scorer/);
    assert.deepEqual(validateModelConfig({ router: "/abs/router.gguf" }).router, { path: "/abs/router.gguf" });
  });
});
