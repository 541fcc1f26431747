// Runs the integration tests (dist/extension-tests/*.test.cjs) inside a real VS Code extension
// host through the standard @vscode/test-electron runTests() API.
//  - Default here: `vscodeExecutablePath` = extension-tests/bin/code-launcher.mjs, which runs
//    code-server 4.100.3 (.tools/) + headless Chromium.
//  - On a machine that can download desktop VS Code: ARBITRAGE_VSCODE=download lets test-electron
//    fetch it; VSCODE_EXECUTABLE=/path/to/code uses an installed one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runTests } from "@vscode/test-electron";
import { realPair } from "./lib/real-models.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const workspace = mkdtempSync("/tmp/arbws-");
mkdirSync(join(workspace, "src"), { recursive: true });
writeFileSync(join(workspace, "question.md"), "Q: 12*7+5\n");

// The real published pair for suite/real-pair.test.ts, resolved (and fetched when missing) here:
// code-server points XDG_CACHE_HOME into a temp folder, so the extension host gets the folder.
let realModels;
try {
  realModels = { ARBITRAGE_REAL_MODELS: dirname(realPair().draft) };
} catch (e) {
  realModels = { ARBITRAGE_REAL_MODELS_ERROR: e instanceof Error ? e.message : String(e) };
}

const mode = process.env.ARBITRAGE_VSCODE;
const vscodeExecutablePath = mode === "download" ? undefined : (process.env.VSCODE_EXECUTABLE ?? join(here, "bin", "code-launcher.mjs"));

let code = 0;
try {
  await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, "dist", "extension-tests", "index.cjs"),
    launchArgs: [workspace, "--disable-extensions"],
    extensionTestsEnv: { ARBITRAGE_TEST_THREADS: process.env.ARBITRAGE_TEST_THREADS ?? "1", ...realModels },
  });
} catch (e) {
  console.error(`integration tests failed: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  rmSync(workspace, { recursive: true, force: true });
}
process.exit(code);
