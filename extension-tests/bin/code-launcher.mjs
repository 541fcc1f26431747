#!/usr/bin/env node
// A stand-in "VS Code executable" for @vscode/test-electron's runTests() / @vscode/test-cli
// (`vscodeExecutablePath` / `useInstallation.fromPath`) on machines where desktop VS Code cannot
// be downloaded. It accepts the arguments test-electron passes (--extensionDevelopmentPath=,
// --extensionTestsPath=, --user-data-dir=, --extensions-dir=, a folder), runs code-server with the
// extension under development, opens the workbench in headless Chromium with the
// extensionDevelopmentPath/extensionTestsPath payload, prints the test output, and exits with the
// code the extension tests reported (0 = pass).
import { mkdirSync } from "node:fs";
import { format } from "node:util";
import { checkPrerequisites, launchBrowser, startCodeServer, workbenchUrl } from "../lib/code-server.mjs";

const args = process.argv.slice(2);
const opt = (name) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : undefined;
};
if (args.includes("--version")) {
  console.log("1.100.3\ncode-server-launcher\nx64");
  process.exit(0);
}
const extensionDevelopmentPath = opt("extensionDevelopmentPath");
const extensionTestsPath = opt("extensionTestsPath");
const folder = args.find((a) => !a.startsWith("-"));
const userDataDir = opt("user-data-dir");
const extensionsDir = opt("extensions-dir");
const timeoutMs = Number(process.env.ARBITRAGE_TEST_TIMEOUT_MS ?? 20 * 60_000);
const verbose = process.env.ARBITRAGE_LAUNCHER_VERBOSE === "1";

const problems = checkPrerequisites();
if (problems.length) {
  for (const p of problems) console.error(`code-launcher: ${p}`);
  process.exit(2);
}
if (!extensionDevelopmentPath || !extensionTestsPath) {
  console.error("code-launcher: --extensionDevelopmentPath= and --extensionTestsPath= are required");
  process.exit(2);
}
for (const d of [userDataDir, extensionsDir]) if (d) mkdirSync(d, { recursive: true });

let server;
let browser;
let code;
const cleanup = async () => {
  await browser?.close();
  await server?.stop();
};
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
process.on("SIGTERM", () => void cleanup().then(() => process.exit(143)));

try {
  server = await startCodeServer({ userDataDir, extensionsDir, log: verbose ? (d) => process.stderr.write(`[code-server] ${d}`) : undefined });
  browser = await launchBrowser();
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const done = new Promise((resolve) => {
    void page.exposeFunction("codeAutomationExit", (c) => resolve(Number(c)));
  });
  await page.exposeFunction("codeAutomationLog", (type, logArgs) => {
    const line = Array.isArray(logArgs) ? format(...logArgs) : String(logArgs);
    (type === "error" ? process.stderr : process.stdout).write(`${line}\n`);
  });
  if (verbose) page.on("console", (m) => process.stderr.write(`[page ${m.type()}] ${m.text()}\n`));
  await page.goto(workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath }));
  const timeout = new Promise((resolve) =>
    setTimeout(() => {
      console.error(`code-launcher: extension tests did not finish within ${timeoutMs / 1000} s`);
      resolve(1);
    }, timeoutMs),
  );
  code = await Promise.race([done, timeout]);
} catch (e) {
  console.error(`code-launcher: ${e instanceof Error ? e.stack : String(e)}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
