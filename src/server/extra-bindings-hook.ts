/**
 * Node module resolve hook (bundled alone as dist/extra-bindings-hook.mjs and registered by
 * src/server/extra-bindings.ts): `@node-llama-cpp/<name>` resolves to `<dir>/@node-llama-cpp/<name>`
 * when that package is installed there, where `<dir>` is ARBITRAGE_EXTRA_BINDINGS (the CUDA binding
 * installed by "Arbitrage: Install CUDA Support"); every other specifier, and a package not
 * installed there, resolves as usual (the extension's own node_modules). node-llama-cpp imports its
 * prebuilt packages by bare name from its own dist/, so its own resolution never looks anywhere else.
 * Runs on Node's loader thread; it reports each redirection on the port it was given.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { MessagePort } from "node:worker_threads";

export interface HookData {
  dir: string;
  port: MessagePort;
}

/** What the hook posts on the port for each redirected import. */
export interface Redirected {
  specifier: string;
  path: string;
}

let data: HookData | null = null;

export function initialize(d: HookData): void {
  data = d;
}

const BINDING = /^@node-llama-cpp\/[a-z0-9][a-z0-9._-]*$/;

/** The entry file of the package in `pkgDir` (its exports "." for import, else main), or null when none is installed. */
async function entryOf(pkgDir: string): Promise<string | null> {
  let manifest: { main?: unknown; exports?: unknown };
  try {
    manifest = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8")) as typeof manifest;
  } catch {
    return null;
  }
  const dot =
    typeof manifest.exports === "object" && manifest.exports !== null ? (manifest.exports as Record<string, unknown>)["."] : manifest.exports;
  const conditions = typeof dot === "object" && dot !== null ? (dot as Record<string, unknown>) : {};
  const rel =
    [dot, conditions.import, conditions.node, conditions.default, manifest.main].find((x): x is string => typeof x === "string") ?? "index.js";
  return join(pkgDir, rel);
}

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<{ url: string; shortCircuit?: boolean }> {
  if (data && BINDING.test(specifier)) {
    const entry = await entryOf(join(data.dir, ...specifier.split("/")));
    if (entry) {
      data.port.postMessage({ specifier, path: entry } satisfies Redirected);
      return { url: pathToFileURL(entry).href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}
