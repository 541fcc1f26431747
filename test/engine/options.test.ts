import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ArbitrageError,
  checkModelConfig,
  checkPolicy,
  checkThreshold,
  defaultModelConfig,
  defaultReasonOptions,
  validateModelConfig,
  validateReasonOptions,
} from "../../src/engine/index.js";

/** The validators shared by the CLI, the engine server and the VS Code settings. */
describe("option validation", () => {
  const rejects = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e: Error & { code?: string }) => e.code === "invalid-option" && pattern.test(e.message));

  it("fills defaults and keeps valid values", () => {
    assert.deepEqual(validateReasonOptions(undefined), defaultReasonOptions());
    assert.deepEqual(validateModelConfig({}), defaultModelConfig());
    assert.equal(validateReasonOptions({ threshold: 0 }).threshold, 0);
    assert.equal(validateReasonOptions({ threshold: 1 }).threshold, 1);
    assert.ok(defaultModelConfig().threads >= 1, "threads are always explicit");
  });

  it("rejects bad thresholds, policies and step caps with what is allowed", () => {
    for (const t of [Number.NaN, -0.01, 1.01, "0.5", null, Infinity])
      rejects(() => validateReasonOptions({ threshold: t }), /Invalid threshold: .* Use a number from 0 to 1/);
    rejects(
      () => validateReasonOptions({ policy: "fastest" }),
      /Invalid policy: "fastest"\. Use one of: auto, arbitrage, rsd, oracle, target, draft/,
    );
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

  it("every rejection carries the path of the bad value, so callers never parse the message", () => {
    const pathOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ArbitrageError && e.code === "invalid-option", String(e));
        return e.path;
      }
      assert.fail("expected a rejection");
    };
    assert.deepEqual(
      pathOf(() => validateReasonOptions({ threshold: 2 })),
      ["threshold"],
    );
    assert.deepEqual(
      pathOf(() => validateReasonOptions({ treshold: 0.5 })),
      ["treshold"],
    );
    assert.deepEqual(
      pathOf(() => validateModelConfig({ router: { path: "router.gguf" } })),
      ["router", "path"],
    );
    assert.deepEqual(
      pathOf(() => validateModelConfig({ threads: 0 })),
      ["threads"],
    );
    assert.deepEqual(
      pathOf(() => validateModelConfig("nope")),
      [],
    );
    assert.deepEqual(new ArbitrageError("invalid-option", "m", { path: ["threads"] }).toJSON(), {
      code: "invalid-option",
      message: "m",
      path: ["threads"],
    });
  });

  it("quotes a bad value shortly, whatever it is", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    rejects(() => validateModelConfig({ router: cyclic }), /^Invalid router: \[object Object\]\. Use "embedded"/);
    rejects(() => validateReasonOptions({ threshold: 10n }), /^Invalid threshold: 10\. Use a number/);
    rejects(() => validateReasonOptions({ policy: "x".repeat(500) }), /^Invalid policy: "x{116}\.\.\.\. Use one of/);
  });

  it("refuses arrays and unknown keys by name, with the known ones", () => {
    rejects(() => validateModelConfig([]), /^Invalid model configuration: \[\]\. Expected an object\.$/);
    rejects(() => validateReasonOptions(["threshold"]), /^Invalid request options: \["threshold"\]\. Expected an object\.$/);
    rejects(
      () => validateModelConfig({ thread: 2 }),
      /^Invalid model setting name: "thread"\. Known model settings: draft, target, router, scorer, gpu, gpuLayers, threads, contextSize, remote\.$/,
    );
    rejects(() => validateReasonOptions({ speculative: true }), /Known options: policy, threshold, .*, router, scorer\.$/);
  });

  it("reports every invalid value at once (one issue per value) through check*", () => {
    const r = checkModelConfig({ threads: -1, gpu: "tpu", contextSize: 64 });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(
      r.issues.map((i) => i.path),
      [["gpu"], ["threads"]],
    );
    assert.match(r.issues[0]!.message, /^Invalid gpu: "tpu"/);
  });

  it("valid values round-trip unchanged, judges as given or as {path}", () => {
    const options = {
      ...defaultReasonOptions(),
      policy: "oracle" as const,
      threshold: 0.25,
      maxSteps: 10_000,
      maxTokensPerStep: 1,
      stepDelimiter: "\n",
      temperature: 2,
      prefixReuse: false,
      speculativeDraft: true,
      promptStyle: "code" as const,
      finalAnswerMarker: "",
      router: "confidence" as const,
      scorer: { path: "/m/prm.gguf" },
    };
    assert.deepEqual(validateReasonOptions(options), options);
    assert.deepEqual(validateReasonOptions({ scorer: "/m/prm.gguf" }).scorer, { path: "/m/prm.gguf" });
    const config = {
      draft: "/m/d.gguf",
      target: "/m/t.gguf",
      router: { path: "/m/r.gguf" },
      scorer: "exact" as const,
      gpu: "vulkan" as const,
      gpuLayers: 0,
      threads: 256,
      contextSize: 1_048_576,
    };
    assert.deepEqual(validateModelConfig(config), config);
    assert.deepEqual(
      Object.keys(validateModelConfig({ contextSize: 512, draft: "/m/d.gguf" })),
      Object.keys(defaultModelConfig()),
      "same key order: the config is compared as JSON",
    );
    assert.equal(checkThreshold(0.5), 0.5);
    assert.equal(checkPolicy("rsd"), "rsd");
    rejects(() => checkPolicy("fast"), /^Invalid policy: "fast"/);
  });
});
