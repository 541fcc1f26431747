import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bindingPackageName, fallbackNotice } from "../../src/engine/gpu-backend.js";
import { gpuDetails, gpuSummary } from "../../src/protocol/gpu-text.js";
import type { GpuReport } from "../../src/engine/types.js";

/** The report's wording (CLI, tooltip, panel header) and the binding names, for reports and platforms this machine cannot produce. */
describe("GPU report in words", () => {
  const onVulkan: GpuReport = {
    backend: "vulkan",
    requested: "auto",
    devices: ["AMD Radeon RX 7600"],
    layers: { draft: { layers: 12, totalLayers: 31 }, target: { layers: 19, totalLayers: 19 } },
    vram: { usedBytes: 7.5 * 2 ** 30, totalBytes: 8 * 2 ** 30 },
    fallbackReason: null,
    attempts: [
      { backend: "cuda", outcome: "library-missing", reason: "no NVIDIA driver was found (libcuda, libnvidia-ml); install the NVIDIA driver" },
      { backend: "vulkan", outcome: "loaded", reason: "Vulkan on AMD Radeon RX 7600" },
    ],
    split: "the pair does not fit in 6.40 GiB (needs 7.90): target first, 19/19 layers; draft 12/31 layers (6.38 GiB used)",
  };

  it("a GPU: backend, device, layers per model (target first), VRAM; the split on its own line", () => {
    assert.equal(gpuSummary(onVulkan), "Vulkan · AMD Radeon RX 7600 · target 19/19, draft 12/31 layers on the GPU · VRAM 7.5 of 8.0 GiB used");
    assert.equal(gpuDetails(onVulkan).split("\n")[1], `Split: ${onVulkan.split}`);
  });

  it("a remote target: only the local draft's layers", () => {
    assert.match(gpuSummary({ ...onVulkan, layers: { draft: { layers: 31, totalLayers: 31 } } }), / · draft 31\/31 layers on the GPU · /);
  });

  it("the CPU: asked for (no reason) or fallen back to (the reason on the next line)", () => {
    const cpu: GpuReport = { ...onVulkan, backend: "cpu", devices: [], vram: null, split: null, attempts: [] };
    assert.equal(gpuDetails(cpu), "Backend: CPU");
    const attempts = [
      onVulkan.attempts[0]!,
      { backend: "vulkan" as const, outcome: "no-device" as const, reason: "the Vulkan binding loaded but found no Vulkan device" },
    ];
    const fallen = { ...cpu, attempts, fallbackReason: fallbackNotice(attempts) };
    assert.equal(
      gpuDetails(fallen),
      "Backend: CPU (no GPU backend loaded)\nNo GPU backend loaded, running on the CPU. CUDA: no NVIDIA driver was found (libcuda, libnvidia-ml); install the NVIDIA driver. Vulkan: the Vulkan binding loaded but found no Vulkan device.",
    );
  });

  it("node-llama-cpp's binding package per platform, none where it publishes none", () => {
    assert.equal(bindingPackageName("vulkan", "linux", "x64"), "@node-llama-cpp/linux-x64-vulkan");
    assert.equal(bindingPackageName("cuda", "win32", "x64"), "@node-llama-cpp/win-x64-cuda");
    assert.equal(bindingPackageName("metal", "darwin", "arm64"), "@node-llama-cpp/mac-arm64-metal");
    assert.equal(bindingPackageName("vulkan", "linux", "arm64"), null);
    assert.equal(bindingPackageName("metal", "linux", "x64"), null);
    assert.equal(
      fallbackNotice([{ backend: "metal", outcome: "unsupported-platform", reason: "x" }]),
      "No GPU backend exists for this platform; running on the CPU.",
    );
  });
});
