// End-to-end UI test on the real published pair (models/real-models.json), in Chromium against
// code-server (a real VS Code 1.100 workbench), separate from e2e.test.mjs so that its failures are
// its own. node:test + node:assert; scripts/test-extension.sh runs it after e2e.test.mjs and counts
// both files' TAP results.
//  1. "Arbitrage: Select Models…" → "Local GGUF files…" → VS Code's own open dialogs (code-server
//     shows its simple file dialog: a quick input that takes a typed absolute path) pick
//     SmolLM2-135M-Instruct as the draft and Gemma 3 270M as the target; the command writes them
//     with the confidence router to the user settings.
//  2. "Reason with Arbitrage" on a real question: the panel shows steps of both models and the
//     final answer; screenshot .test-artifacts/e2e-real-pair.png.
// Run alone: node --test extension-tests/e2e-real.test.mjs (needs `npm run build` first).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import { checkPrerequisites, launchBrowser, root, runFromPalette, startCodeServer, workbenchUrl } from "./lib/code-server.mjs";
import { realPair } from "./lib/real-models.mjs";
import { readRealRun } from "./lib/real-pair-run.mjs";

const artifacts = join(root, ".test-artifacts");
mkdirSync(artifacts, { recursive: true });
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);
// The run measured on this machine before the tests (lib/real-pair-run.mjs): threshold, steps, answer.
const RUN = readRealRun();
const REAL_QUESTION = RUN.question;
// The panel shows a threshold with its own decimals (src/shared/scores.ts): for the measured thresholds,
// the digits String() gives.
const THRESHOLD_PATTERN = String(RUN.settings.threshold).replace(/\./g, "\\.");

let pair;
let server;
let browser;
let page;
let workspace;
let selected = false;

const inner = () => page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
const settingsFile = (scope) => JSON.parse(readFileSync(join(server.userDataDir, scope, "settings.json"), "utf8"));

async function failureShot(name) {
  await page?.screenshot({ path: join(artifacts, name) }).catch(() => undefined);
}

before(async () => {
  const problems = checkPrerequisites();
  assert.deepEqual(problems, [], problems.join("; "));
  pair = realPair();
  workspace = mkdtempSync("/tmp/arbreal-");
  writeFileSync(join(workspace, "question.md"), `${REAL_QUESTION}\n`);
  const settings = Object.fromEntries(Object.entries({ ...RUN.settings, threads: THREADS }).map(([k, v]) => [`arbitrage.${k}`, v]));
  server = await startCodeServer({ settings });
  browser = await launchBrowser();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(workbenchUrl(server, { folder: workspace, extensionDevelopmentPath: root }));
  await page.locator(".monaco-workbench").waitFor({ timeout: 120_000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

/**
 * Answers one of VS Code's open dialogs (code-server: the simple file dialog, a quick input that
 * lists a folder and takes a typed path) with an absolute path, and presses its OK button.
 */
async function answerOpenDialog(titlePart, path, button) {
  const widget = page.locator(".quick-input-widget");
  const title = widget.locator(".quick-input-title", { hasText: titlePart });
  await title.waitFor({ timeout: 15_000 });
  const input = widget.locator("input[type='text']");
  // The dialog fills in its start folder and lists it asynchronously, and a path typed before
  // that is overwritten: wait for the start folder first.
  await page.waitForFunction(() => /\/$/.test(document.querySelector(".quick-input-widget input[type='text']")?.value ?? ""), null, {
    timeout: 15_000,
  });
  await widget.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: 15_000 });
  for (let attempt = 1; ; attempt++) {
    await input.fill(path);
    // As the path is typed the dialog lists its folder; the file must show up in that list.
    await widget
      .locator(".quick-input-list .monaco-list-row", { hasText: basename(path) })
      .first()
      .waitFor({ timeout: 15_000 });
    if ((await input.inputValue()) === path) {
      await widget.locator(".quick-input-action .monaco-button", { hasText: button }).click();
      try {
        await title.waitFor({ state: "hidden", timeout: 5_000 });
        return;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    } else if (attempt >= 3) {
      assert.fail(`the open dialog kept replacing the typed path (now ${await input.inputValue()})`);
    }
  }
}

test(
  "Select Models… → Local GGUF files: VS Code's open dialogs pick SmolLM2 (draft) and Gemma 3 (target), router confidence",
  { timeout: 120_000 },
  async () => {
    try {
      await runFromPalette(page, "Arbitrage: Select Models…");
      await page.locator('.quick-input-list .monaco-list-row[aria-label*="Local GGUF files"]').first().click();
      await answerOpenDialog("draft model", pair.draft, "Use as draft model");
      await answerOpenDialog("target model", pair.target, "Use as target model");
      const toast = page.locator(".notifications-toasts .notification-list-item", { hasText: "confidence router" }).first();
      await toast.waitFor({ timeout: 15_000 });
      assert.match(
        await toast.innerText(),
        new RegExp(`${basename(pair.draft).replace(/\./g, "\\.")}[\\s\\S]*${basename(pair.target).replace(/\./g, "\\.")}`),
      );
      // The status bar names the pair from the settings the command wrote.
      const shortDraft = basename(pair.draft, ".gguf");
      await page.locator(".statusbar-item", { hasText: shortDraft }).first().waitFor({ timeout: 15_000 });
      // Machine-scoped settings written with ConfigurationTarget.Global land in the remote
      // machine's settings on code-server (ud/Machine/settings.json), not in the user's.
      const m = settingsFile("Machine");
      assert.equal(m["arbitrage.draftModel"], pair.draft);
      assert.equal(m["arbitrage.targetModel"], pair.target);
      assert.equal(m["arbitrage.router"], "confidence");
      assert.equal(settingsFile("User")["arbitrage.threads"], THREADS);
      selected = true;
    } catch (e) {
      await failureShot("e2e-real-select-failure.png");
      throw e;
    }
  },
);

test(
  `Reason with Arbitrage on the real pair ("${REAL_QUESTION}"): the panel shows steps of both models and the final answer`,
  { timeout: 420_000 },
  async (t) => {
    if (!selected) {
      t.skip("Select Models did not select the real pair (see the test before)");
      return;
    }
    const t0 = Date.now();
    try {
      await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "question.md" }).first().click();
      await runFromPalette(page, "Reason with Arbitrage");
      const input = page.locator(".quick-input-widget input[type='text']");
      await input.waitFor({ state: "visible", timeout: 15_000 });
      await input.fill(REAL_QUESTION);
      await page.keyboard.press("Enter");
      const w = inner();
      await w.locator("#steps").waitFor({ state: "attached", timeout: 60_000 });
      await w.locator('body[data-state="finished"], body[data-state="failed"]').waitFor({ timeout: 360_000 });
      const dom = await w.locator("body").evaluate((body) => {
        const steps = Array.from(document.querySelectorAll("#steps > .step:not(.pending)"));
        return {
          state: body.dataset.state,
          error: document.getElementById("error")?.textContent ?? "",
          question: document.getElementById("question")?.textContent ?? "",
          meta: document.getElementById("meta")?.textContent ?? "",
          steps: steps.map((s) => ({
            model: s.dataset.model,
            badge: s.querySelector(".badge")?.textContent ?? "",
            router: s.querySelector(".router-label")?.textContent ?? "",
            text: s.querySelector(".step-body")?.textContent ?? "",
          })),
          answer: document.getElementById("answer")?.textContent ?? null,
          summary: document.getElementById("summary")?.textContent ?? "",
        };
      });
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(
        `real pair run in the panel took ${seconds} s: ${dom.steps.map((s) => `${s.model} [${s.router}] ${JSON.stringify(s.text)}`).join(" | ")}; answer ${dom.answer}`,
      );
      await page.screenshot({ path: join(artifacts, "e2e-real-pair.png") });
      assert.equal(dom.state, "finished", dom.error);
      assert.equal(dom.question, REAL_QUESTION);
      assert.match(
        dom.meta,
        new RegExp(`${basename(pair.draft, ".gguf").replace(/\./g, "\\.")} → ${basename(pair.target, ".gguf").replace(/\./g, "\\.")}`),
        "the panel names the real pair",
      );
      assert.match(dom.meta, new RegExp(`threshold ${THRESHOLD_PATTERN}\\b`));
      const draft = dom.steps.filter((s) => s.model === "draft");
      const target = dom.steps.filter((s) => s.model === "target");
      assert.ok(draft.length >= 1 && target.length >= 1, `steps of both models expected, got draft ${draft.length}, target ${target.length}`);
      for (const s of dom.steps) {
        assert.equal(s.badge.trim(), s.model, "each step's badge names its model");
        assert.match(
          s.router,
          new RegExp(`^router \\d\\.\\d{3,} [<≥] ${THRESHOLD_PATTERN}$`),
          "the router score is shown with the digits that decide it",
        );
        assert.equal(
          s.router.includes("≥"),
          s.model === "target",
          `a step goes to the target exactly when its score reaches the threshold: ${s.router}`,
        );
      }
      assert.match(dom.summary, new RegExp(`draft ${draft.length} \\(\\d+%\\), target ${target.length} \\(\\d+%\\)`));
      assert.deepEqual(
        dom.steps.map((s) => s.model),
        RUN.steps.map((s) => s.model),
        "the panel shows the engine's run (the CLI's, measured before the tests)",
      );
      assert.equal(dom.answer, RUN.answer, "the final answer (extractFinalAnswer) is shown in the panel");
    } catch (e) {
      await failureShot("e2e-real-reason-failure.png");
      throw e;
    }
  },
);
