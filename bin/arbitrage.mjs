#!/usr/bin/env node
// The CLI bundle is built by `npm run build` (run by `npm ci`/`npm install` through "prepare").
import { existsSync } from "node:fs";
const bundle = new URL("../dist/cli.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("arbitrage: error: the CLI is not built yet. Run `npm run build` in the package folder.\n");
  process.exit(1);
}
await import(bundle.href);
