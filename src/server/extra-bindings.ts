/**
 * Makes node-llama-cpp find `@node-llama-cpp/*` prebuilt packages installed outside the extension's
 * node_modules: in the folder named by ARBITRAGE_EXTRA_BINDINGS (the extension sets it to
 * `<global storage>/bindings/<node-llama-cpp version>`, where "Arbitrage: Install CUDA Support" puts
 * the CUDA binding). The extension folder itself may be read-only and is replaced on every update,
 * and Node's ES module resolution has no search path to add, so a resolve hook (module.register,
 * dist/extra-bindings-hook.mjs) redirects those packages. It is registered when the engine server
 * starts, before any request: node-llama-cpp imports its binding packages only inside getLlama().
 * Works the same from the repository and from an unpacked VSIX: both have dist/ next to each other.
 */
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
import { EXTRA_BINDINGS_ENV } from "../shared/binding-packages.js";
import type { Redirected } from "./extra-bindings-hook.js";

/**
 * Registers the hook when ARBITRAGE_EXTRA_BINDINGS is set; `onRedirected` hears of each package it
 * resolved from there. Returns the folder, or null when none is set.
 */
export function useExtraBindings(onRedirected: (r: Redirected) => void, env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = env[EXTRA_BINDINGS_ENV];
  if (!dir) return null;
  const { port1, port2 } = new MessageChannel();
  port1.on("message", (m: Redirected) => onRedirected(m));
  port1.unref();
  register(new URL("./extra-bindings-hook.mjs", import.meta.url), { data: { dir, port: port2 }, transferList: [port2] });
  return dir;
}
