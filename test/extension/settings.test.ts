import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { Command } from "commander";
import { modelFlags } from "../../src/cli/flags.js";
import { DEFAULT_THREADS_RULE, GPU_CHOICES, LIMITS, POLICY_SETTINGS, defaultModelConfig, defaultReasonOptions } from "../../src/engine/index.js";
import {
  HOST_SETTINGS,
  MODEL_SETTINGS,
  OPTION_SETTINGS,
  REMOTE_SETTINGS,
  SECTION,
  checkSettings,
  type SettingsProblem,
} from "../../src/extension/setting-keys.js";

/**
 * The VS Code settings side of validation (src/extension/setting-keys.ts, pure): package.json's
 * `contributes.configuration` against the engine's one source of defaults, and each invalid
 * setting mapped to its own key by the path with a message a user can act on.
 */

interface SettingSchema {
  default: unknown;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  description?: string;
  markdownDescription?: string;
}
const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, SettingSchema> } };
};
const contributed = pkg.contributes.configuration.properties;
const TABLES = { ...MODEL_SETTINGS, ...OPTION_SETTINGS };

/** Settings as the user set them (everything else unset). */
const userSettings = (values: Record<string, unknown>) => (key: string) => values[key];

function problemsOf(values: Record<string, unknown>): SettingsProblem[] {
  const r = checkSettings(userSettings(values));
  return [...(Array.isArray(r.model) ? r.model : []), ...(Array.isArray(r.options) ? r.options : [])];
}

function onlyProblem(values: Record<string, unknown>): SettingsProblem {
  const problems = problemsOf(values);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  return problems[0]!;
}

describe("package.json settings agree with the engine's defaults", () => {
  it("every contributed arbitrage.* setting is in the settings table (or read by the host itself), and every table entry is contributed", () => {
    const declared = Object.keys(contributed)
      .map((k) => k.slice(`${SECTION}.`.length))
      .sort();
    assert.deepEqual(declared, [...Object.keys(TABLES), ...Object.keys(REMOTE_SETTINGS), ...HOST_SETTINGS].sort());
  });

  it("the contributed defaults read as the engine's defaults", () => {
    const defaults = Object.fromEntries(
      Object.entries(contributed)
        .filter(([k]) => k.slice(`${SECTION}.`.length) in TABLES)
        .map(([k, s]) => [k.slice(`${SECTION}.`.length), s.default]),
    );
    const r = checkSettings(userSettings(defaults));
    assert.deepEqual(r.model, defaultModelConfig());
    assert.deepEqual(r.options, defaultReasonOptions());
  });

  it("each non-automatic default is literally the engine's value", () => {
    const engine: Record<string, unknown> = { ...defaultModelConfig(), ...defaultReasonOptions() };
    for (const [key, field] of Object.entries(TABLES)) {
      if (key === "threads") continue; // 0 = automatic, checked below
      assert.deepEqual(contributed[`${SECTION}.${key}`]!.default, engine[field], key);
    }
    assert.equal(contributed["arbitrage.threads"]!.default, 0, "threads default to automatic");
  });

  it("minimum, maximum and enums equal the engine's limits and choices", () => {
    for (const [key, field] of Object.entries(TABLES)) {
      const limits = (LIMITS as Record<string, { min: number; max: number }>)[field];
      const s = contributed[`${SECTION}.${key}`]!;
      if (!limits || key === "gpuLayers") {
        assert.equal(s.minimum, undefined, key);
        assert.equal(s.maximum, undefined, key);
        continue;
      }
      // 0 is the automatic thread count: below the engine's minimum, and accepted by the settings.
      assert.equal(s.minimum, key === "threads" ? 0 : limits.min, `${key} minimum`);
      assert.equal(s.maximum, limits.max, `${key} maximum`);
    }
    assert.deepEqual(contributed["arbitrage.policy"]!.enum, POLICY_SETTINGS);
    assert.deepEqual(contributed["arbitrage.gpu"]!.enum, GPU_CHOICES);
  });

  it("the threads setting and the CLI help describe the automatic thread count by the engine's rule", () => {
    assert.ok(
      contributed["arbitrage.threads"]!.markdownDescription!.includes(DEFAULT_THREADS_RULE),
      contributed["arbitrage.threads"]!.markdownDescription,
    );
    const help = modelFlags(new Command("reason")).helpInformation().replace(/\s+/g, " ");
    assert.ok(help.includes(`default: ${DEFAULT_THREADS_RULE}`), help);
    assert.match(help, new RegExp(`--context-size <n> context size in tokens \\(default: ${defaultModelConfig().contextSize}\\)`));
  });
});

describe("settings validation", () => {
  it("valid settings round-trip into the config and options", () => {
    const r = checkSettings(
      userSettings({
        draftModel: "/models/d.gguf",
        targetModel: "/models/t.gguf",
        router: "confidence",
        scorer: "/models/prm.gguf",
        gpu: "cpu",
        gpuLayers: 12,
        threads: 3,
        contextSize: 2048,
        policy: "rsd",
        threshold: 0.75,
        maxSteps: 9,
        maxTokensPerStep: 40,
        stepDelimiter: "\n",
        temperature: 0.5,
        prefixReuse: false,
      }),
    );
    assert.deepEqual(r.model, {
      draft: "/models/d.gguf",
      target: "/models/t.gguf",
      router: "confidence",
      scorer: { path: "/models/prm.gguf" },
      gpu: "cpu",
      gpuLayers: 12,
      threads: 3,
      contextSize: 2048,
    });
    assert.deepEqual(r.options, {
      ...defaultReasonOptions(),
      policy: "rsd",
      threshold: 0.75,
      maxSteps: 9,
      maxTokensPerStep: 40,
      stepDelimiter: "\n",
      temperature: 0.5,
      prefixReuse: false,
    });
  });

  it("automatic values (threads 0, empty model paths) take the engine's defaults", () => {
    const r = checkSettings(userSettings({ threads: 0, draftModel: "", targetModel: "", router: "", scorer: "" }));
    assert.deepEqual(r.model, defaultModelConfig());
  });

  const cases: [string, unknown, RegExp][] = [
    ["draftModel", "relative/model.gguf", /^Invalid draft model: "relative\/model\.gguf"\. Model paths must be absolute/],
    ["targetModel", "  ", /^Invalid target model: " {2}"\. Use "embedded" or the absolute path of a \.gguf file\.$/],
    ["router", "smart", /^Invalid router: "smart"\. Use "embedded", "confidence", "random" or the absolute path of a router \.gguf file\.$/],
    ["scorer", "prm.gguf", /^Invalid scorer: "prm\.gguf"\. Use "embedded", "exact" or the absolute path of a PRM \.gguf file\.$/],
    ["gpu", "tpu", /^Invalid gpu: "tpu"\. Use one of: auto, cuda, vulkan, metal, cpu\.$/],
    ["gpuLayers", "many", /^Invalid gpuLayers: "many"\. Use "auto" or a whole number from 0 to 10000\.$/],
    ["threads", 1.5, /^Invalid threads: 1\.5\. Use a whole number from 1 to 256\.$/],
    ["threads", 257, /^Invalid threads: 257\. Use a whole number from 1 to 256\.$/],
    ["contextSize", 10, /^Invalid contextSize: 10\. Use a whole number from 64 to 1048576\.$/],
    ["policy", "fastest", /^Invalid policy: "fastest"\. Use one of: auto, arbitrage, rsd, oracle, target, draft, speculative\.$/],
    ["threshold", 5, /^Invalid threshold: 5\. Use a number from 0 to 1 \(higher sends fewer steps to the target\)\.$/],
    ["threshold", "0.5", /^Invalid threshold: "0\.5"\. Use a number from 0 to 1/],
    ["maxSteps", 0, /^Invalid maxSteps: 0\. Use a whole number from 1 to 10000\.$/],
    ["maxTokensPerStep", 40_000, /^Invalid maxTokensPerStep: 40000\. Use a whole number from 1 to 32768\.$/],
    ["stepDelimiter", "", /^Invalid stepDelimiter: ""\. Use a non-empty string such as "\\n\\n"\.$/],
    ["temperature", 3, /^Invalid temperature: 3\. Use a number from 0 \(greedy\) to 2\.$/],
    ["prefixReuse", "yes", /^Invalid prefixReuse: "yes"\. Use true or false\.$/],
  ];
  for (const [key, value, message] of cases) {
    it(`${key} = ${JSON.stringify(value)} is reported on arbitrage.${key} with what is allowed`, () => {
      const p = onlyProblem({ [key]: value });
      assert.equal(p.setting, `arbitrage.${key}`);
      assert.match(p.message, message);
    });
  }

  it("the message names the setting even when the engine names its field differently, and comes from the path", () => {
    // Both model paths are "…model" in the message and draft/target in the config: the key comes from the path.
    assert.equal(onlyProblem({ targetModel: "t.gguf" }).setting, "arbitrage.targetModel");
    // A router object with a relative path is an issue at ["router", "path"]: still arbitrage.router.
    const p = onlyProblem({ router: { path: "r.gguf" } });
    assert.equal(p.setting, "arbitrage.router");
    assert.match(p.message, /must be absolute/);
  });

  it("several invalid settings give one problem each, in both parts", () => {
    const problems = problemsOf({ threshold: -1, maxSteps: "ten", threads: -2, draftModel: "x.gguf", gpu: "cpu" });
    assert.deepEqual(problems.map((p) => p.setting).sort(), [
      "arbitrage.draftModel",
      "arbitrage.maxSteps",
      "arbitrage.threads",
      "arbitrage.threshold",
    ]);
    for (const p of problems) assert.match(p.message, /^Invalid .+\. (Use|Model paths)/, p.message);
  });
});

describe("remote model settings", () => {
  it("a URL (and model name) put that model on a server; a name without a URL, or nothing, keeps it here", () => {
    const r = checkSettings(userSettings({ targetUrl: "http://127.0.0.1:8080", targetModelName: "qwen", draftModelName: "unused" }));
    assert.ok(!Array.isArray(r.model));
    assert.deepEqual(r.model.remote, { target: { url: "http://127.0.0.1:8080", model: "qwen" } });
    const none = checkSettings(userSettings({ targetUrl: "", draftModelName: "x" }));
    assert.ok(!Array.isArray(none.model));
    assert.equal(none.model.remote, undefined);
  });

  it("a bad URL is reported against its own setting", () => {
    const p = onlyProblem({ draftUrl: "gpu-box:8080" });
    assert.equal(p.setting, "arbitrage.draftUrl");
    assert.match(p.message, /Invalid draft server URL: "gpu-box:8080"\. Use the server's http:\/\/ or https:\/\/ base URL/);
    assert.equal(onlyProblem({ targetUrl: "http://127.0.0.1:1", targetModelName: 7 }).setting, "arbitrage.targetModelName");
  });
});
