// @vscode/test-cli configuration (`npx vscode-test`): the same integration tests as
// extension-tests/run-integration.mjs. Here the "VS Code installation" is the code-server launcher;
// set ARBITRAGE_VSCODE=download to let test-cli download desktop VS Code instead.
// Build first: node esbuild.mjs --only=extension,server,webview,tests
import { defineConfig } from "@vscode/test-cli";

export default defineConfig({
  files: "dist/extension-tests/*.test.cjs",
  mocha: { ui: "tdd", timeout: 240_000 },
  launchArgs: ["--disable-extensions"],
  env: { ARBITRAGE_TEST_THREADS: process.env.ARBITRAGE_TEST_THREADS ?? "1" },
  ...(process.env.ARBITRAGE_VSCODE === "download" ? {} : { useInstallation: { fromPath: "extension-tests/bin/code-launcher.mjs" } }),
});
