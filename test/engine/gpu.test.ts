import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { checkModelFile, embeddedModelPath, isArbitrageError, type ArbitrageEngine } from "../../src/engine/index.js";
import { engine, THREADS } from "./helpers.js";
import { expectedVulkanOutcome, gpuDevicePresent, nvidiaDriverPresent } from "./gpu-environment.js";

/**
 * Backend selection on a machine without a GPU (these machines): real node-llama-cpp with its
 * installed CUDA and Vulkan bindings, the real embedded pair. On a machine with a GPU device the
 * fallback cannot happen, and scripts/gpu-check.sh is the check to run there instead.
 */
const noGpu = !gpuDevicePresent();
const BIN = resolve(import.meta.dirname, "../../bin/arbitrage.mjs");

const VULKAN_REASON = {
  "library-missing": /Vulkan: the Vulkan loader \(libvulkan\.so\.1\) is not installed/,
  "no-device": /Vulkan: the Vulkan binding is installed and its libraries are present, but it found no usable Vulkan device/,
};

/** node-llama-cpp's layer count of an embedded model: its blocks plus the output layer, read off the file. */
async function totalLayers(role: "draft" | "target"): Promise<number> {
  const check = await checkModelFile(embeddedModelPath(role), role);
  return Number((check.info.architectureMetadata as { block_count?: number }).block_count) + 1;
}
const cpuLayers = async () => ({
  draft: { layers: 0, totalLayers: await totalLayers("draft") },
  target: { layers: 0, totalLayers: await totalLayers("target") },
});

async function withEngine<T>(overrides: Record<string, unknown>, use: (e: ArbitrageEngine) => Promise<T>): Promise<T> {
  const e = await engine(overrides);
  try {
    return await use(e);
  } finally {
    await e.dispose();
  }
}

describe("GPU backend selection without a GPU", { skip: noGpu ? false : "this machine has a GPU device: run scripts/gpu-check.sh" }, () => {
  it('gpu "auto" falls back to the CPU, names why for each GPU backend, warns once, and answers correctly', async () => {
    await withEngine({ gpu: "auto" }, async (e) => {
      const report = e.info().gpu;
      assert.equal(report.backend, "cpu");
      assert.equal(report.requested, "auto");
      assert.deepEqual(report.devices, []);
      assert.equal(report.vram, null);
      assert.deepEqual(
        report.attempts.map((a) => [a.backend, a.outcome]),
        [
          ["cuda", nvidiaDriverPresent() ? "no-device" : "library-missing"],
          ["vulkan", expectedVulkanOutcome()],
        ],
      );
      assert.match(report.fallbackReason ?? "", /^No GPU backend loaded, running on the CPU\. CUDA: /);
      assert.match(report.fallbackReason ?? "", VULKAN_REASON[expectedVulkanOutcome()]);
      if (!nvidiaDriverPresent()) assert.match(report.fallbackReason ?? "", /CUDA: no NVIDIA driver was found/);
      assert.equal(e.warnings.filter((w) => w === report.fallbackReason).length, 1, "the notice is one engine warning");
      assert.deepEqual(report.layers, await cpuLayers());
      assert.equal(report.split, null);
      const r = await e.reason("(12+7)*3-5", { policy: "arbitrage" });
      assert.equal(r.answer, "52");
      assert.deepEqual(r.stats.gpu, report, "the run's stats carry the same report");
    });
  });

  it('gpu "cpu" asks for no GPU: no attempts, no notice', async () => {
    await withEngine({ gpu: "cpu" }, async (e) => {
      const report = e.info().gpu;
      assert.equal(report.backend, "cpu");
      assert.deepEqual(report.attempts, []);
      assert.equal(report.fallbackReason, null);
      assert.ok(!e.warnings.some((w) => /GPU/.test(w)), e.warnings.join("\n"));
    });
  });

  it("an explicit GPU backend that cannot run is an error naming what is missing and what to do", async () => {
    const attempt = (gpu: string) => engine({ gpu }).then((e) => e.dispose().then(() => assert.fail(`gpu ${gpu} loaded`)));
    await assert.rejects(attempt("vulkan"), (e: unknown) => {
      assert.ok(isArbitrageError(e, "gpu-unavailable"), String(e));
      assert.match(e.message, /^The Vulkan backend cannot run here: /);
      assert.match(
        e.message,
        expectedVulkanOutcome() === "no-device" ? /found no usable Vulkan device/ : /libvulkan\.so\.1\) is not installed.*install your GPU's driver/,
      );
      assert.match(e.message, /set arbitrage\.gpu \(--gpu\) to "auto" to fall back to the CPU/);
      return true;
    });
    if (!nvidiaDriverPresent()) {
      await assert.rejects(
        attempt("cuda"),
        /^ArbitrageError: The CUDA backend cannot run here: the CUDA binding at .* is installed, but the NVIDIA driver is not installed/,
      );
    }
    if (process.platform !== "darwin") {
      await assert.rejects(attempt("metal"), /The Metal backend cannot run here: node-llama-cpp publishes no Metal binding for linux-x64/);
    }
  });

  it("the CLI prints the notice as a warning, the backend in its summary, and the report in --json stats", async () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, "reason", "--threads", String(THREADS), ...args], {
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
    const plain = run(["(12+7)*3-5"]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stderr, /^arbitrage: warning: No GPU backend loaded, running on the CPU\. CUDA: .*Vulkan: /m);
    assert.match(plain.stdout, /Answer: 52/);
    assert.match(plain.stdout, /^backend: CPU \(no GPU backend loaded\)$/m);
    const json = run(["--json", "(12+7)*3-5"]);
    assert.equal(json.status, 0, json.stderr);
    const gpu = JSON.parse(json.stdout).stats.gpu;
    assert.equal(gpu.backend, "cpu");
    assert.equal(gpu.requested, "auto");
    assert.match(gpu.fallbackReason, VULKAN_REASON[expectedVulkanOutcome()]);
    assert.deepEqual(gpu.layers, await cpuLayers());
    assert.deepEqual(Object.keys(gpu).sort(), ["attempts", "backend", "devices", "fallbackReason", "layers", "requested", "split", "vram"]);
    const explicit = run(["--gpu", "vulkan", "1+2"]);
    assert.equal(explicit.status, 1);
    assert.match(explicit.stderr.trim(), /^arbitrage: error: The Vulkan backend cannot run here: .*"auto" to fall back to the CPU\.$/);
    assert.equal(explicit.stderr.trim().split("\n").length, 1, explicit.stderr);
  });
});
