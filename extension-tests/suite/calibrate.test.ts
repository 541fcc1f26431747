/**
 * "Arbitrage: Calibrate Router…" inside the real extension host, against the real engine process:
 * the command's quick pick offers the bundled arithmetic set, the engine process runs the oracle
 * rollouts and writes the calibration into the extension's global storage, and the next request
 * of that pair routes with it (the run's stats name the calibrated router).
 */
import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import * as vscode from "vscode";
import type { Calibration } from "../../src/engine/calibration/calibration-file.js";
import type { ArbitrageApi } from "../../src/extension/main.js";

const EXTENSION_ID = "arbitrage.arbitrage";
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

suite("Calibrate Router command (real engine process)", function () {
  let api: ArbitrageApi;
  let dir: string;

  suiteSetup(async function () {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} not found`);
    api = (await ext.activate()) as ArbitrageApi;
    dir = vscode.Uri.joinPath(api.controller.context.globalStorageUri, "calibrations").fsPath;
    rmSync(dir, { recursive: true, force: true });
    // The embedded pair routes with its trained router unless the confidence router is chosen;
    // a calibration fits the confidence router.
    await api.controller.settings.update({ threads: THREADS, router: "confidence" });
  });

  suiteTeardown(async function () {
    rmSync(dir, { recursive: true, force: true });
    await api.controller.settings.update({ router: undefined, threads: undefined });
    // Leave the host as a fresh one: no engine process (the other suites, e.g. lazy activation, expect none).
    await api.controller.engine.stop();
  });

  test("the bundled set calibrates the selected pair into global storage, and the next run routes with it", async function () {
    const before = await api.controller.run("Q: 12*7+5", { policy: "arbitrage", maxSteps: 6 }, () => undefined, undefined, "api");
    assert.match(before.result.stats.router ?? "", /^confidence\b/);
    assert.doesNotMatch(before.result.stats.router ?? "", /calibrated for this pair/, "no calibration yet");

    const done = vscode.commands.executeCommand("arbitrage.calibrateRouter") as Thenable<void>;
    // The command's quick pick: accept its first item, the bundled arithmetic set. The engine
    // appends each finished problem to the pair's rollout log, so the log's appearance shows
    // that the rollouts started on the accepted file.
    const t0 = Date.now();
    while (!(existsSync(dir) && readdirSync(dir).some((f) => f.endsWith(".rollouts.jsonl")))) {
      if (Date.now() - t0 > 60_000) assert.fail("the calibration never started (no rollout log in global storage)");
      await vscode.commands.executeCommand("workbench.action.acceptSelectedQuickOpenItem");
      await sleep(250);
    }
    await Promise.race([done, sleep(200_000).then(() => assert.fail("the calibration did not finish in 200 s"))]);

    const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
    assert.equal(files.length, 1, `one calibration file for the pair: ${readdirSync(dir).join(", ")}`);
    const saved = JSON.parse(readFileSync(join(dir, files[0]!), "utf8")) as Calibration;
    const pair = api.controller.settings.snapshot.model;
    assert.equal(saved.labelMethod, "exact", "the embedded pair is labelled by its exact checker");
    assert.equal(saved.pair.draft.file, basename(pair.draft === "embedded" ? "draft.gguf" : pair.draft));
    assert.ok(saved.heldout.rows > 0 && saved.heldout.auc > 0.5, `held-out AUC ${saved.heldout.auc} on ${saved.heldout.rows} steps`);

    // The engine reloads after a calibration; the next request of the pair uses it.
    const after = await api.controller.run("Q: 12*7+5", { policy: "arbitrage", maxSteps: 6 }, () => undefined, undefined, "api");
    assert.match(after.result.stats.router ?? "", /^confidence, calibrated for this pair, AUC 0\.\d+/);
  });
});
