import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * What this machine offers a GPU backend, found independently of the engine's own checks: the
 * dynamic linker's cache (`ldconfig -p`) and LD_LIBRARY_PATH for the libraries, /dev for devices.
 * The fallback tests expect the reason that these facts imply.
 */

function linkerHas(lib: string): boolean {
  const cache = spawnSync("ldconfig", ["-p"], { encoding: "utf8" }).stdout ?? "";
  if (cache.includes(lib)) return true;
  return (process.env.LD_LIBRARY_PATH ?? "")
    .split(delimiter)
    .filter((d) => d !== "")
    .some((d) => existsSync(join(d, lib)));
}

export const vulkanLoaderPresent = () => linkerHas("libvulkan.so.1");
export const nvidiaDriverPresent = () => linkerHas("libcuda.so.1") || linkerHas("libnvidia-ml.so.1");

/** Any GPU device node: a DRM render node (Vulkan drivers) or an NVIDIA device. */
export function gpuDevicePresent(): boolean {
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  return list("/dev/dri").some((f) => f.startsWith("renderD")) || list("/dev").some((f) => /^nvidia\d/.test(f));
}

/** The Vulkan attempt's expected outcome on a machine without a GPU device. */
export const expectedVulkanOutcome = () => (vulkanLoaderPresent() ? "no-device" : "library-missing");
