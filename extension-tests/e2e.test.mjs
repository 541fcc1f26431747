// End-to-end UI test in Chromium against code-server (a real VS Code 1.100 workbench), on the
// embedded pair. node:test + node:assert: every test asserts something it observed in the page.
//  1. "Reason with Arbitrage" from the command palette, a question typed into the input box;
//     steps stream into the webview; the panel's threshold control re-runs the question until
//     both models wrote steps; screenshot .test-artifacts/e2e-reason.png;
//  2. "Reason with Arbitrage on Selection" from the editor context menu; "Select Models…";
//  3. the test-only companion extension (extension-tests/hooks-extension, built into
//     dist/extension-tests/ — no VSIX contains it — and installed into this code-server's
//     extensions folder) streams hostile step texts
//     (extension-tests/lib/hostile-steps.ts) through the real host -> webview message path: they
//     render inert — no script ran, no element/navigation/resource came from them, no request
//     left the webview (canary HTTP server + Chromium request log), layout intact;
//     screenshot .test-artifacts/e2e-hostile.png;
//  4. a window reload: the panel comes back through the serializer.
// The real published pair has its own file, e2e-real.test.mjs; scripts/test-extension.sh runs
// both and counts their TAP results. Run alone: node --test extension-tests/e2e.test.mjs (after
// `node esbuild.mjs --only=extension,server,webview,tests`).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { checkPrerequisites, launchBrowser, root, runFromPalette, startCodeServer, workbenchUrl } from "./lib/code-server.mjs";

const artifacts = join(root, ".test-artifacts");
mkdirSync(artifacts, { recursive: true });
const QUESTION = process.env.ARBITRAGE_E2E_QUESTION ?? "Q: 48+27*3-15";
const CANARY_PORT = 47913;
const HOOKS_EXTENSION = join(root, "dist", "extension-tests", "hooks-extension");
// The threshold a run gets from the settings: the default the extension's manifest declares.
const DEFAULT_THRESHOLD = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).contributes.configuration.properties["arbitrage.threshold"]
  .default;

let canary;
const canaryHits = [];
const foreignRequests = [];
const dialogs = [];
let workspace;
let server;
let browser;
let page;

const inner = () => page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
const firstLine = (e) => (e instanceof Error ? e.message.split("\n")[0] : String(e));

/** The extension host's error lines (code-server's logs), for a failure message. */
function extensionHostErrors() {
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  try {
    return (
      walk(join(server.userDataDir, "logs"))
        .filter((f) => /exthost/i.test(f) && f.endsWith(".log"))
        .flatMap((f) =>
          readFileSync(f, "utf8")
            .split("\n")
            .filter((l) => /\[error\]/.test(l)),
        )
        .slice(-10)
        .join(" | ") || "no errors"
    );
  } catch (e) {
    return `unreadable (${firstLine(e)})`;
  }
}

async function failureShot(name) {
  await page?.screenshot({ path: join(artifacts, name) }).catch(() => undefined);
}

/** Waits for the panel's run to end; a failed run throws with the panel's error text. */
async function finished() {
  const w = inner();
  await w.locator('body[data-state="finished"], body[data-state="failed"]').waitFor({ timeout: 240_000 });
  if ((await w.locator("body").getAttribute("data-state")) === "failed") {
    throw new Error(`the run failed in the panel: ${await w.locator("#error").textContent()}`);
  }
}

const stepCounts = async () => ({
  draft: await inner().locator("#steps .step.draft:not(.pending)").count(),
  target: await inner().locator("#steps .step.target:not(.pending)").count(),
});

before(async () => {
  assert.deepEqual(checkPrerequisites(), []);
  // Canary: any request reaching it means model text made the webview fetch something.
  canary = createServer((req, res) => {
    canaryHits.push(req.url);
    res.end("canary");
  });
  await new Promise((resolve, reject) => canary.once("error", reject).listen(CANARY_PORT, "127.0.0.1", resolve));
  workspace = mkdtempSync("/tmp/arbe2e-");
  writeFileSync(join(workspace, "question.md"), `${QUESTION}\n`);
  // ARBITRAGE_E2E_SETTINGS (JSON) adds user settings, e.g. other model paths while debugging.
  const extra = process.env.ARBITRAGE_E2E_SETTINGS ? JSON.parse(process.env.ARBITRAGE_E2E_SETTINGS) : {};
  server = await startCodeServer({
    installed: [{ id: "arbitrage.arbitrage-test-hooks-0.0.0", dir: HOOKS_EXTENSION }],
    settings: { "arbitrage.threads": Number(process.env.ARBITRAGE_TEST_THREADS ?? 1), ...extra },
  });
  browser = await launchBrowser();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  browser.context.on("request", (r) => {
    const u = r.url();
    if (u.startsWith(server.base) || u.startsWith("data:") || u.startsWith("blob:")) return;
    // The webview's own resources (served by VS Code's service worker, never the network).
    try {
      const url = new URL(u);
      if (url.hostname.endsWith(".vscode-resource.vscode-cdn.net") && url.pathname.startsWith(`${root}/dist/webview/`)) return;
    } catch {
      /* not a URL: report it */
    }
    foreignRequests.push(u);
  });
  await page.goto(workbenchUrl(server, { folder: workspace, extensionDevelopmentPath: root }));
  await page.locator(".monaco-workbench").waitFor({ timeout: 120_000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  canary?.close();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

test("the workbench offers the extension's commands (and the companion's test command) in the palette", { timeout: 120_000 }, async () => {
  const wanted = [
    "Reason with Arbitrage",
    "Arbitrage: Select Models…",
    "Arbitrage: Download Recommended Models",
    "Arbitrage Tests: Inject Hostile Steps",
  ];
  let labels = [];
  for (let i = 0; i < 30 && !wanted.every((w) => labels.includes(w)); i++) {
    await page.keyboard.press("Escape");
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input[type='text']");
    await input.waitFor({ state: "visible", timeout: 10_000 });
    await input.fill(">Arbitrage");
    await page.waitForTimeout(1000);
    labels = await page
      .locator(".quick-input-list .monaco-list-row")
      .evaluateAll((els) => els.map((e) => (e.getAttribute("aria-label") ?? "").split(", ")[0]));
  }
  await page.keyboard.press("Escape");
  for (const w of wanted) assert.ok(labels.includes(w), `${w} missing from the palette: ${labels.join(" | ")}`);
  assert.ok(!labels.some((l) => /Inject Test Steps|development only/.test(l)), "the product registers no test command");
});

test("palette → input box: steps render in the webview as the run streams", { timeout: 300_000 }, async () => {
  await runFromPalette(page, "Reason with Arbitrage");
  const input = page.locator(".quick-input-widget input[type='text']");
  await input.waitFor({ state: "visible", timeout: 15_000 });
  await input.fill(QUESTION);
  await page.keyboard.press("Enter");
  const w = inner();
  await w.locator("#steps").waitFor({ state: "attached", timeout: 60_000 });
  // Steps appear live: the first step shows up before the run finishes.
  await w.locator('#steps .step, body[data-state="failed"]').first().waitFor({ timeout: 240_000 });
  const liveState = await w.locator("body").getAttribute("data-state");
  assert.ok(liveState === "running" || liveState === "finished", `state when the first step appeared: ${liveState}`);
  await finished();
});

test("the fallback to the CPU is told once in a notification, and the panel header names the backend", { timeout: 60_000 }, async () => {
  // No GPU on these machines: the first load's notice names why; "Don't Show Again" keeps it quiet for that reason.
  const toast = page.locator(".notifications-toasts .notification-list-item", { hasText: "Arbitrage runs on the CPU" }).first();
  await toast.waitFor({ timeout: 30_000 });
  assert.match(await toast.innerText(), /No GPU backend loaded, running on the CPU\. CUDA: [\s\S]*Vulkan: /);
  await toast.locator(".monaco-button", { hasText: "Don't Show Again" }).click();
  await toast.waitFor({ state: "detached", timeout: 10_000 });
  const meta = inner().locator("#meta");
  assert.match(await meta.textContent(), / · CPU \(no GPU backend loaded\)$/);
  assert.match((await meta.getAttribute("title")) ?? "", /^Backend: CPU \(no GPU backend loaded\)\nNo GPU backend loaded, running on the CPU\./);
});

test("the webview shows the question, the routed steps and the threshold from the settings", async () => {
  const { draft, target } = await stepCounts();
  assert.equal(await inner().locator("#question").textContent(), QUESTION);
  assert.ok(draft + target > 0, `draft ${draft}, target ${target}`);
  assert.match(await inner().locator("#meta").textContent(), new RegExp(`threshold ${DEFAULT_THRESHOLD.toFixed(2)}\\b`));
});

// The threshold control: re-run the same question with a threshold between the router scores the
// panel shows, until both models have written steps (the router decides per step).
let counts = { draft: 0, target: 0 };
const rerunThresholds = [];
test("the threshold control re-runs the same question at the chosen threshold", { timeout: 900_000 }, async () => {
  const w = inner();
  counts = await stepCounts();
  const tried = new Set([DEFAULT_THRESHOLD.toFixed(2)]);
  for (let attempt = 0; attempt < 5 && !(rerunThresholds.length > 0 && counts.draft > 0 && counts.target > 0); attempt++) {
    const labels = await w.locator("#steps .step .router-label").allTextContents();
    const scores = labels
      .map((l) => Number(/router (\d\.\d+)/.exec(l)?.[1]))
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    assert.ok(scores.length > 0, `no router scores shown: ${labels.join(" | ")}`);
    const mid = Math.floor(scores.length / 2);
    let th = scores.length >= 2 ? (scores[mid - 1] + scores[mid]) / 2 : scores[0];
    if (counts.target > 0 && counts.draft === 0) th = Math.min(0.99, scores.at(-1) + 0.01);
    if (counts.draft > 0 && counts.target === 0) th = Math.max(0.01, scores.at(-1) - 0.01);
    let key = th.toFixed(2);
    while (tried.has(key)) key = (Number(key) + (counts.target > 0 ? 0.01 : -0.01)).toFixed(2);
    tried.add(key);
    await w.locator("#threshold").fill(key);
    await w.locator("#rerun").click();
    await w.locator("#meta", { hasText: `threshold ${key}` }).waitFor({ timeout: 30_000 });
    await finished();
    assert.equal(await w.locator("#question").textContent(), QUESTION, "the re-run is the same question");
    counts = await stepCounts();
    assert.ok(counts.draft + counts.target > 0, `the re-run at ${key} shows steps`);
    rerunThresholds.push(key);
    console.log(`# threshold ${key}: draft ${counts.draft}, target ${counts.target}`);
  }
  assert.ok(rerunThresholds.length > 0);
});

test("steps from both models are visible (labelled and coloured)", async () => {
  assert.ok(counts.draft > 0 && counts.target > 0, `draft ${counts.draft}, target ${counts.target} at thresholds ${rerunThresholds.join(", ")}`);
});

test("each step names its model", async () => {
  const steps = await inner()
    .locator("#steps > .step:not(.pending)")
    .evaluateAll((els) => els.map((e) => ({ model: e.dataset.model, cls: e.className, badge: e.querySelector(".badge")?.textContent?.trim() })));
  assert.ok(steps.length > 0);
  for (const s of steps) {
    assert.equal(s.badge, s.model);
    assert.ok(s.cls.split(/\s+/).includes(s.model), `the step's class carries its model (colour): ${s.cls}`);
  }
});

test("router score vs threshold is shown per step, and agrees with the step's model", async () => {
  const shown = await inner()
    .locator("#steps > .step:not(.pending)")
    .evaluateAll((els) => els.map((e) => ({ model: e.dataset.model, label: e.querySelector(".router-label")?.textContent ?? "" })));
  const threshold = rerunThresholds.at(-1);
  assert.ok(shown.length > 0 && threshold, `steps ${shown.length}, threshold ${threshold}`);
  for (const s of shown) {
    assert.match(s.label, new RegExp(`^router \\d\\.\\d{2,} [<≥] ${threshold.replace(".", "\\.")}$`));
    assert.equal(s.label.includes("≥"), s.model === "target", s.label);
  }
});

test("the summary shows shares, tokens, wall time and estimated speedup", async () => {
  const summary = (await inner().locator("#summary").textContent()).replace(/\s+/g, " ");
  assert.match(summary, new RegExp(`draft ${counts.draft} \\(\\d+%\\).*target ${counts.target} \\(\\d+%\\)`), summary.slice(0, 200));
  assert.match(summary, /Est\. speedup/);
  await page.screenshot({ path: join(artifacts, "e2e-reason.png") });
});

test("the editor context menu runs the selection", { timeout: 300_000 }, async () => {
  try {
    // Open the file from the explorer (clicking the workbench also takes focus out of the webview).
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "question.md" }).first().click();
    const lines = page.locator(".editor-instance .monaco-editor .view-lines").first();
    await lines.waitFor({ timeout: 15_000 });
    await lines.click();
    await page.keyboard.press("Control+A");
    await lines.click({ button: "right" });
    const item = page
      .locator(
        '.monaco-menu .action-item a.action-menu-item:has(span.action-label[aria-label="Reason with Arbitrage on Selection"]), .monaco-menu .action-label[aria-label="Reason with Arbitrage on Selection"]',
      )
      .first();
    await item.waitFor({ timeout: 10_000 });
    await page.waitForTimeout(600); // menus ignore clicks right after opening
    await item.hover();
    await item.click();
    // A new run from the settings: the threshold is the default again, not the last re-run's.
    await inner()
      .locator("#meta", { hasText: `threshold ${DEFAULT_THRESHOLD.toFixed(2)}` })
      .waitFor({ timeout: 30_000 });
    await finished();
    assert.equal((await inner().locator("#question").textContent())?.trim(), QUESTION);
  } catch (e) {
    await failureShot("e2e-context-menu-failure.png");
    await page.keyboard.press("Escape");
    throw e;
  }
});

test("Select Models offers embedded, local and recommended pairs and applies a choice", { timeout: 120_000 }, async () => {
  try {
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "question.md" }).first().click();
    await runFromPalette(page, "Arbitrage: Select Models…");
    const rows = page.locator(".quick-input-list .monaco-list-row");
    await rows.first().waitFor({ timeout: 10_000 });
    const labels = await rows.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? ""));
    assert.ok(
      labels.some((l) => l.includes("Embedded demo pair")),
      labels.join(" | "),
    );
    assert.ok(
      labels.some((l) => l.includes("Local GGUF files")),
      labels.join(" | "),
    );
    assert.ok(
      labels.some((l) => /Qwen2\.5|Llama/.test(l)),
      labels.join(" | "),
    );
    await page.locator('.quick-input-list .monaco-list-row[aria-label*="Embedded demo pair"]').first().click();
    await page
      .locator(".notifications-toasts .notification-list-item", { hasText: "using the embedded demo pair" })
      .first()
      .waitFor({ timeout: 10_000 });
    // Machine-scoped settings written with ConfigurationTarget.Global land in code-server's remote machine settings.
    const machine = JSON.parse(readFileSync(join(server.userDataDir, "Machine", "settings.json"), "utf8"));
    assert.equal(machine["arbitrage.draftModel"], "embedded");
    assert.equal(machine["arbitrage.targetModel"], "embedded");
    assert.equal(machine["arbitrage.router"], "embedded");
  } catch (e) {
    await failureShot("e2e-select-models-failure.png");
    await page.keyboard.press("Escape");
    throw e;
  }
});

// Hostile step texts through the real message path (the companion extension's command).
let dom;
test("hostile step texts reach the panel through the host's message path", { timeout: 120_000 }, async () => {
  await runFromPalette(page, "Arbitrage Tests: Inject Hostile Steps");
  try {
    // The first call activates the companion extension: slow on a busy machine (28 s measured).
    await inner().locator("#meta", { hasText: "test hook" }).waitFor({ timeout: 90_000 });
  } catch (e) {
    await failureShot("e2e-hostile-failure.png");
    throw new Error(`${firstLine(e)}; extension host log: ${extensionHostErrors()}`, { cause: e });
  }
  await finished();
  await page.waitForTimeout(1500); // give any injected handler/resource a chance to fire
  const frame = await (await inner().locator("body").elementHandle()).ownerFrame();
  dom = await frame.evaluate(() => {
    const steps = document.getElementById("steps");
    const all = Array.from(steps.querySelectorAll("*"));
    return {
      pwned: window.__arbPwned ?? null,
      title: document.title,
      question: document.getElementById("question")?.textContent ?? "",
      csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute("content") ?? "",
      stepCount: steps.querySelectorAll(":scope > .step").length,
      dangerous: all
        .filter((e) => ["SCRIPT", "IMG", "IFRAME", "A", "STYLE", "OBJECT", "EMBED", "FORM", "LINK", "USE"].includes(e.tagName.toUpperCase()))
        .map((e) => e.tagName),
      handlers: all.filter((e) => Array.from(e.attributes).some((a) => /^on/i.test(a.name) || /^(href|src|xlink:href)$/i.test(a.name))).length,
      breakout: !!document.getElementById("breakout"),
      summaryAfterSteps: !!document.querySelector("main#steps + section#summary"),
      text: steps.textContent,
      katex: steps.querySelectorAll(".katex").length,
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      longStepWidth: Math.max(...Array.from(steps.querySelectorAll(".step")).map((s) => s.getBoundingClientRect().width)),
      bodyWidth: document.body.getBoundingClientRect().width,
    };
  });
  assert.equal(dom.question, "Injected step texts (test hook)");
  await page.screenshot({ path: join(artifacts, "e2e-hostile.png") });
});

const hostile = (name, fn) =>
  test(name, (t) => {
    if (!dom) return t.skip("the hostile steps were not injected (see the test before)");
    fn();
  });
hostile("CSP is default-src 'none' with a nonce script", () => {
  assert.ok(dom.csp.startsWith("default-src 'none'"), dom.csp);
  assert.match(dom.csp, /script-src 'nonce-/);
});
hostile("no injected script ran (no flag, no title change, no dialog)", () => {
  assert.deepEqual({ pwned: dom.pwned, title: dom.title, dialogs }, { pwned: null, title: "Arbitrage", dialogs: [] });
});
hostile("no live element came from model text (script/img/iframe/a/style/use)", () => {
  assert.deepEqual(dom.dangerous, []);
  assert.equal(dom.handlers, 0);
});
hostile("hostile markup shows as literal text", () => {
  for (const s of ["<script>", "onerror", "</div></article></main>"]) assert.ok(dom.text.includes(s), s);
});
hostile("</div> breakouts stay inside their step (layout intact)", () => {
  assert.equal(dom.breakout, false);
  assert.equal(dom.summaryAfterSteps, true);
  assert.equal(dom.stepCount, 9);
});
hostile("a 100 kB line wraps inside the panel (no horizontal overflow)", () => {
  assert.ok(dom.scrollWidth <= dom.clientWidth + 1, `scrollWidth ${dom.scrollWidth} / ${dom.clientWidth}`);
  assert.ok(dom.longStepWidth <= dom.bodyWidth + 1, `step ${dom.longStepWidth} / body ${dom.bodyWidth}`);
});
hostile("math renders with KaTeX while $40 and $50 stay text", () => {
  assert.ok(dom.katex >= 2, `katex ${dom.katex}`);
  assert.ok(dom.text.includes("$40 and $50"));
});
hostile("no request left the webview (canary server and Chromium request log)", () => {
  assert.deepEqual([...canaryHits, ...foreignRequests], []);
});

test("the panel and its steps are restored after a window reload", { timeout: 420_000 }, async () => {
  await page.waitForTimeout(1000); // let VS Code persist the webview state
  await page.reload();
  await page.locator(".monaco-workbench").waitFor({ timeout: 120_000 });
  try {
    // Slow on a busy machine: the restored panel appeared only after 60 s once (the whole test took 97 s).
    await inner().locator("#meta", { hasText: "test hook" }).waitFor({ timeout: 180_000 });
    assert.equal(await inner().locator("#steps > .step").count(), 9);
  } catch (e) {
    await failureShot("e2e-reload-failure.png");
    throw new Error(firstLine(e), { cause: e });
  }
});
