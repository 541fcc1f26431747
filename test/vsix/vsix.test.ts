import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { expectedVulkanOutcome, gpuDevicePresent, vulkanLoaderPresent } from "../engine/gpu-environment.js";

/**
 * The real packaging script (`npm run package`): builds the linux-x64 VSIX, unpacks it outside the
 * repository and runs a reason request through its engine server (scripts/verify-vsix-engine.mjs),
 * with only the VSIX's own node_modules. On this machine (no GPU) the server tries the Vulkan
 * binding the VSIX carries and falls back to the CPU with the notice.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const onLinuxX64 = process.platform === "linux" && process.arch === "x64";

interface Verified {
  question: string;
  answer: string | null;
  gpu: { backend: string; fallbackReason: string | null; attempts: Array<{ backend: string; outcome: string; reason: string }> };
  warnings: string[];
}

function packageVsix(out: string, gpu?: string) {
  const args = [join(ROOT, "scripts/package-vsix.mjs"), `--out=${out}`, ...(gpu ? [`--gpu=${gpu}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 600_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  const line = r.stdout.split("\n").find((l) => l.startsWith("verify-vsix: {"));
  assert.ok(line, `no verification line in:\n${r.stdout.slice(-2000)}`);
  const files = execFileSync("unzip", ["-Z1", out], { encoding: "utf8", maxBuffer: 64 << 20 }).split("\n");
  return { stdout: r.stdout, verified: JSON.parse(line.slice("verify-vsix: ".length)) as Verified, files };
}

const attempt = (v: Verified, backend: string) => v.gpu.attempts.find((a) => a.backend === backend);

describe("the VSIX", { skip: onLinuxX64 && !gpuDevicePresent() ? false : "needs linux-x64 without a GPU device" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "arbitrage-vsix-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("carries the Vulkan binding by default; unpacked, its engine loads it, falls back to the CPU with the notice, and answers 52", () => {
    const { stdout, verified, files } = packageVsix(join(dir, "default.vsix"));
    assert.match(stdout, /^prebuilt bindings: (?=.*\blinux-x64-vulkan\b)(?=.*\blinux-x64\b).*$/m);
    assert.ok(
      files.includes("extension/node_modules/@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan/llama-addon.node"),
      "the Vulkan addon is in the VSIX",
    );
    assert.ok(!files.some((f) => f.includes("@node-llama-cpp/linux-x64-cuda")), "no CUDA binding: it comes on demand");
    assert.equal(verified.answer, "52");
    assert.equal(verified.gpu.backend, "cpu");
    const vulkan = attempt(verified, "vulkan");
    assert.equal(vulkan?.outcome, expectedVulkanOutcome(), JSON.stringify(verified.gpu.attempts));
    assert.match(
      verified.gpu.fallbackReason ?? "",
      vulkanLoaderPresent()
        ? /Vulkan: the Vulkan binding is installed and its libraries are present, but it found no usable Vulkan device/
        : /Vulkan: the Vulkan loader \(libvulkan\.so\.1\) is not installed/,
    );
    assert.ok(verified.warnings.includes(verified.gpu.fallbackReason!), "the notice is one of the load's warnings");
  });

  it("--gpu=none builds the CPU-only VSIX, which names the missing Vulkan binding where a Vulkan driver is present", () => {
    const { stdout, verified, files } = packageVsix(join(dir, "cpu.vsix"), "none");
    assert.match(stdout, /^prebuilt bindings: linux-x64$/m);
    assert.ok(!files.some((f) => f.includes("@node-llama-cpp/linux-x64-vulkan")));
    assert.equal(verified.answer, "52");
    assert.equal(verified.gpu.backend, "cpu");
    // Without a Vulkan loader the missing driver is the reason (a binding would change nothing); with one, the binding.
    if (vulkanLoaderPresent()) {
      assert.equal(attempt(verified, "vulkan")?.outcome, "binding-missing");
      assert.match(
        attempt(verified, "vulkan")!.reason,
        /the Vulkan binding \(@node-llama-cpp\/linux-x64-vulkan\) is not installed; install the Arbitrage VSIX that carries it/,
      );
    } else {
      assert.equal(attempt(verified, "vulkan")?.outcome, "library-missing");
    }
  });
});
