/**
 * Mocha entry point loaded by VS Code as `extensionTestsPath` (bundled to
 * dist/extension-tests/index.cjs). Runs every *.test.cjs next to it inside the real extension
 * host, prints a spec report, and writes .test-artifacts/integration-results.json and
 * .test-artifacts/integration.log (the launcher may not forward every console line).
 */
import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Mocha from "mocha";

export function run(): Promise<void> {
  const artifacts = resolve(__dirname, "..", "..", ".test-artifacts");
  mkdirSync(artifacts, { recursive: true });
  const logFile = join(artifacts, "integration.log");
  writeFileSync(logFile, "");
  const log = (line: string) => {
    console.log(line);
    appendFileSync(logFile, `${line}\n`);
  };
  const mocha = new Mocha({ ui: "tdd", timeout: 240_000, color: false, reporter: function () {} as never });
  const grep = process.env.ARBITRAGE_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const f of readdirSync(__dirname)
    .filter((f) => f.endsWith(".test.cjs"))
    .sort())
    mocha.addFile(join(__dirname, f));
  const passed: { title: string; ms: number }[] = [];
  const failed: { title: string; error: string }[] = [];
  const t0 = Date.now();
  return new Promise((resolvePromise, reject) => {
    const runner = mocha.run((failures) => {
      const summary = { passed: passed.length, failed: failed.length, ms: Date.now() - t0, tests: passed, failures: failed };
      writeFileSync(join(artifacts, "integration-results.json"), JSON.stringify(summary, null, 2));
      log(`integration: ${passed.length} passing, ${failed.length} failing (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolvePromise();
    });
    runner.on("pass", (t) => {
      passed.push({ title: t.fullTitle(), ms: t.duration ?? 0 });
      log(`  ✓ ${t.fullTitle()} (${t.duration ?? 0} ms)`);
    });
    runner.on("fail", (t, err: Error) => {
      failed.push({ title: t.fullTitle(), error: String(err?.stack ?? err) });
      log(
        `  ✗ ${t.fullTitle()}\n    ${String(err?.stack ?? err)
          .split("\n")
          .join("\n    ")}`,
      );
    });
  });
}
