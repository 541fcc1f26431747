import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package root holds `models/` (the embedded demo models). The engine runs from source
 * (tsx), from the CLI bundle (dist/cli.mjs) and from the engine-server bundle inside the
 * VSIX, so it walks up from wherever this code sits instead of assuming one layout.
 */
function here(): string {
  // In a CommonJS bundle esbuild leaves import.meta empty, and __dirname exists instead.
  if (typeof __dirname === "string") return __dirname;
  return dirname(fileURLToPath(import.meta.url));
}

export function packageRoot(): string {
  let dir = here();
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "models"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return resolve(here(), "..", "..");
}

/** Where the embedded demo models live; ARBITRAGE_MODELS_DIR overrides it (used by packaging checks). */
export function embeddedModelsDir(): string {
  return process.env.ARBITRAGE_MODELS_DIR ?? join(packageRoot(), "models");
}

export const EMBEDDED_FILES = {
  draft: "draft.gguf",
  target: "target.gguf",
  router: "router.gguf",
  prm: "prm.gguf",
} as const;

export function embeddedModelPath(role: keyof typeof EMBEDDED_FILES): string {
  return join(embeddedModelsDir(), EMBEDDED_FILES[role]);
}

/** A generating model's file: the setting's path, or the embedded demo model for "embedded". */
export function modelPath(value: string, role: "draft" | "target"): string {
  return value === "embedded" ? embeddedModelPath(role) : value;
}
