/**
 * The GpuReport in words, one wording for the CLI, the status bar tooltip and the panel header.
 * Dependency-free (type imports only): the webview bundle imports it.
 */
import type { GpuBackend, GpuReport } from "../engine/types.js";
import { gib } from "../shared/units.js";

const BACKEND_NAMES: Record<GpuBackend, string> = { cpu: "CPU", vulkan: "Vulkan", cuda: "CUDA", metal: "Metal" };

/** e.g. "target 25/25, draft 3/3 layers on the GPU" (only the models that run here). */
export function layersText(report: GpuReport): string {
  const parts = (["target", "draft"] as const)
    .map((role) => [role, report.layers[role]] as const)
    .filter((entry): entry is readonly ["target" | "draft", { layers: number; totalLayers: number }] => entry[1] !== undefined)
    .map(([role, l]) => `${role} ${l.layers}/${l.totalLayers}`);
  return parts.length > 0 ? `${parts.join(", ")} layers on the GPU` : "";
}

/** One line: "Vulkan · NVIDIA H200 · target 25/25, draft 3/3 layers on the GPU · VRAM 1.2 of 139.8 GiB used", or "CPU (no GPU: …)". */
export function gpuSummary(report: GpuReport): string {
  if (report.backend === "cpu") return report.fallbackReason ? "CPU (no GPU backend loaded)" : "CPU";
  const parts = [BACKEND_NAMES[report.backend]];
  if (report.devices.length > 0) parts.push(report.devices.join(", "));
  const layers = layersText(report);
  if (layers) parts.push(layers);
  if (report.vram) parts.push(`VRAM ${gib(report.vram.usedBytes)} of ${gib(report.vram.totalBytes)} GiB used`);
  return parts.join(" · ");
}

/** The summary, then why not a GPU (a fallback) or how the pair was split, each on its own line. */
export function gpuDetails(report: GpuReport): string {
  return [`Backend: ${gpuSummary(report)}`, report.fallbackReason, report.split ? `Split: ${report.split}` : null]
    .filter((line): line is string => line !== null)
    .join("\n");
}
