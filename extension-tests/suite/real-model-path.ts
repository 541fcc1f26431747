import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * A real model's file as test/real/helpers.ts finds it (ARBITRAGE_REAL_MODELS, else the user's
 * cache). run-integration.mjs always passes ARBITRAGE_REAL_MODELS: code-server sets
 * XDG_CACHE_HOME to a temp folder for the extension host, so the fallback here is ~/.cache only.
 */
export function realModelPath(root: string, id: string): string {
  if (process.env.ARBITRAGE_REAL_MODELS_ERROR) throw new Error(process.env.ARBITRAGE_REAL_MODELS_ERROR);
  const dir = process.env.ARBITRAGE_REAL_MODELS ?? join(homedir(), ".cache", "arbitrage", "real-models");
  const manifest = JSON.parse(readFileSync(join(root, "models", "real-models.json"), "utf8")) as { models: { id: string; file: string }[] };
  const entry = manifest.models.find((m) => m.id === id);
  assert.ok(entry, `no real model ${id} in models/real-models.json`);
  const path = join(dir, entry.file);
  assert.ok(existsSync(path), `${path} is missing: run "bash scripts/fetch-real-models.sh"`);
  return path;
}
