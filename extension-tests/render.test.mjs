// Webview renderer tests in headless Chromium (no VS Code needed): bundles media/render.ts — the
// exact code the panel uses for model text — and loads it into a page served under the panel's own
// Content-Security-Policy (contentSecurityPolicy() of src/extension/panel.ts) with the panel's
// stylesheet; checks math delimiters, streaming (unclosed) math, code highlighting, KaTeX's styles
// as applied under that CSP, and hostile input; then the whole panel page.
// Run: node --test extension-tests/render.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as esbuild from "esbuild";
import katex from "katex";
import { join } from "node:path";
import { chromiumPath, launchBrowser, root } from "./lib/code-server.mjs";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";

const ORIGIN = "http://arbitrage.test";

let browser;
let page;
/** The CSP violations the renderer page reported so far (securitypolicyviolation events). */
let violations;

before(async () => {
  assert.ok(existsSync(chromiumPath), `Chromium missing at ${chromiumPath}`);
  const out = await esbuild.build({
    entryPoints: [join(root, "media", "render.ts")],
    bundle: true,
    write: false,
    format: "iife",
    globalName: "ArbRender",
    platform: "browser",
    target: ["chrome120"],
    logLevel: "warning",
  });
  const { csp, nonce } = await panelCsp();
  const assets = new Map([...(await webviewAssets()), ["/renderer.js", { type: "text/javascript", body: out.outputFiles[0].contents }]]);
  const html = `<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="stylesheet" href="${ORIGIN}/ext/dist/webview/webview.css">
</head><body><script nonce="${nonce}" src="${ORIGIN}/renderer.js"></script></body></html>`;
  browser = await launchBrowser();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await serve(page, "/renderer", html, assets);
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push({ directive: e.violatedDirective, sample: e.sample }));
  });
  await page.goto(`${ORIGIN}/renderer`);
  await page.waitForFunction(() => typeof window.ArbRender?.renderInto === "function");
  await page.evaluate(() => {
    window.render = (text, streaming) => {
      const el = document.createElement("div");
      document.body.append(el);
      window.ArbRender.renderInto(el, text, streaming);
      return el;
    };
  });
  violations = () => page.evaluate(() => window.__violations);
});

after(async () => {
  await browser?.close();
});

/** Serves `html` at ORIGIN + path and the given assets (path -> {type, body}) on a page. */
function serve(p, path, html, assets) {
  return p.route(`${ORIGIN}/**`, (r) => {
    const at = new URL(r.request().url()).pathname;
    if (at === path) return r.fulfill({ status: 200, contentType: "text/html", body: html });
    const a = assets.get(at);
    return a ? r.fulfill({ status: 200, contentType: a.type, body: Buffer.from(a.body) }) : r.fulfill({ status: 404, body: "" });
  });
}

/** Renders and returns facts about the result. */
function probe(text, streaming = false) {
  return page.evaluate(
    ([t, s]) => {
      const el = window.render(t, s);
      const q = (sel) => el.querySelectorAll(sel).length;
      return {
        html: el.innerHTML,
        text: el.textContent,
        katex: q(".katex"),
        display: q(".katex-display"),
        pending: Array.from(el.querySelectorAll(".math-pending")).map((x) => x.textContent),
        anchors: q("a"),
        imgs: q("img"),
        scripts: q("script"),
        hrefs: Array.from(el.querySelectorAll("*")).filter((e) => e.hasAttribute("href") || e.hasAttribute("xlink:href") || e.hasAttribute("src"))
          .length,
        handlers: Array.from(el.querySelectorAll("*")).filter((e) => Array.from(e.attributes).some((a) => /^on/i.test(a.name))).length,
        styleAttrs: q("[style]"),
        dataSt: q("[data-st]"),
        hljs: q("pre code .hljs-built_in, pre code .hljs-string, pre code .hljs-keyword"),
      };
    },
    [text, streaming],
  );
}

test("inline math: \\( \\) and $ $", async () => {
  const a = await probe("Area \\(\\pi r^2\\) and $x^2+1$.");
  assert.equal(a.katex, 2);
  assert.equal(a.display, 0);
});

test("display math: $$ $$ and \\[ \\] (block and inline)", async () => {
  const a = await probe("$$\\frac{a}{b}$$\n\nthen\n\n\\[\n\\sum_i i\n\\]\n\nand inline $$x$$ too");
  assert.equal(a.display, 3);
});

test("prices are not math: $40 and $50, costs $5", async () => {
  const a = await probe("It costs $40 and $50, or $5 each.");
  assert.equal(a.katex, 0);
  assert.match(a.text, /\$40 and \$50, or \$5 each\./);
});

test("unclosed math while streaming shows as pending text; when not streaming it stays literal", async () => {
  const s = await probe("Let $x^2 + ", true);
  assert.deepEqual(
    s.pending.map((p) => p.trim()),
    ["$x^2 +"],
  );
  assert.equal(s.katex, 0);
  const b = await probe("So \\(\\frac{1}{", true);
  assert.deepEqual(b.pending, ["\\(\\frac{1}{"]);
  const blk = await probe("$$\n\\int_0^1 x", true);
  assert.equal(blk.pending.length, 1);
  assert.match(blk.pending[0], /\\int_0\^1 x/);
  const done = await probe("Let $x^2 + ", false);
  assert.equal(done.pending.length, 0);
  assert.match(done.text, /\$x\^2 \+/);
  const price = await probe("It costs $40", true);
  assert.equal(price.pending.length, 0, "a $ before a digit is a price, not pending math");
});

test("code blocks are highlighted and escaped", async () => {
  const a = await probe('```python\nprint("<b>hi</b>")\n```');
  assert.ok(a.hljs > 0, "highlight.js spans present");
  assert.match(a.text, /print\("<b>hi<\/b>"\)/);
  assert.ok(!/<b>/.test(a.html), "no live <b>");
});

// Display math that makes KaTeX emit most of its inline style properties: struts (height,
// vertical-align), vlists (top, height), fraction and overline rules (border widths), spacing
// (margin), colour, \rule (width, border-right-width, bottom).
const STYLED_TEX = String.raw`\sqrt{\frac{a}{b}} + \overline{x} + \underbrace{y}_{n} \, \color{red}{z} \rule{1em}{2pt} \hspace{1em} \raisebox{0.5em}{r}`;

test("KaTeX's inline styles are applied through CSSOM under the panel's CSP: every declaration, as computed styles", async () => {
  // What KaTeX itself writes for this formula: one entry per element of its HTML output, in
  // document order, with the element's style declarations.
  const raw = katex.renderToString(STYLED_TEX, { displayMode: true, output: "html", throwOnError: false, strict: "ignore" });
  const expected = Array.from(raw.matchAll(/<([a-zA-Z][\w-]*)\b([^>]*)>/g), (m) => ({
    tag: m[1].toLowerCase(),
    decls: Array.from((/ style="([^"]*)"/.exec(m[2])?.[1] ?? "").split(";"), (d) => d.split(":").map((x) => x.trim())).filter(([k, v]) => k && v),
  }));
  const htmlStart = expected.findIndex((_, i) => /class="katex-html"/.test(raw.match(/<([a-zA-Z][\w-]*)\b([^>]*)>/g)[i]));
  const want = expected.slice(htmlStart);
  const styled = want.filter((e) => e.decls.length > 0);
  assert.ok(styled.length >= 10, `KaTeX wrote styles on ${styled.length} elements`);
  const props = new Set(styled.flatMap((e) => e.decls.map(([k]) => k)));
  for (const p of ["height", "vertical-align", "top", "border-bottom-width", "color", "margin-right"])
    assert.ok(props.has(p), `the formula exercises ${p}`);

  const got = await page.evaluate(
    ([tex, want]) => {
      const el = window.render(`$$${tex}$$`, false);
      const html = el.querySelector(".katex-html");
      const els = html ? [html, ...html.querySelectorAll("*")] : [];
      const scratch = document.createElement("span");
      const canon = (prop, value) => {
        scratch.style.cssText = "";
        scratch.style.setProperty(prop, value);
        return scratch.style.getPropertyValue(prop);
      };
      const px = (v) => (/^-?[\d.]+px$/.test(v) ? Number.parseFloat(v) : null);
      return {
        dataSt: el.querySelectorAll("[data-st]").length,
        tags: els.map((e) => e.tagName.toLowerCase()),
        checks: els.flatMap((e, i) =>
          (want[i]?.decls ?? []).map(([prop, value]) => {
            const cs = getComputedStyle(e);
            const emMatch = /^(-?[\d.]+)em$/.exec(value);
            // em lengths resolve against the element's own font size (font-size itself against its parent's).
            const base = px(prop === "font-size" ? getComputedStyle(e.parentElement).fontSize : cs.fontSize);
            return {
              i,
              prop,
              value,
              applied: e.style.getPropertyValue(prop),
              want: canon(prop, value),
              computed: cs.getPropertyValue(prop),
              wantPx: emMatch && base !== null ? Number(emMatch[1]) * base : null,
            };
          }),
        ),
        // Geometry that only the applied styles produce: the numerator sits above the denominator.
        frac: (() => {
          const mf = html.querySelector(".mfrac");
          const [den, num] = Array.from(mf.querySelectorAll(".vlist > span > .pstrut + span")).map((s) => s.getBoundingClientRect());
          return { numBottom: num.bottom, denTop: den.top };
        })(),
        color: (() => {
          const z = Array.from(html.querySelectorAll("span")).find((s) => s.textContent === "z" && s.style.color);
          return z ? getComputedStyle(z).color : null;
        })(),
      };
    },
    [STYLED_TEX, want],
  );

  assert.equal(got.dataSt, 0, "no data-st left behind");
  assert.deepEqual(
    got.tags,
    want.map((e) => e.tag),
    "the sanitised output keeps KaTeX's element structure",
  );
  assert.equal(
    got.checks.length,
    styled.reduce((a, e) => a + e.decls.length, 0),
  );
  for (const c of got.checks) {
    assert.equal(c.applied, c.want, `element ${c.i}: ${c.prop}: ${c.value} is applied (got "${c.applied}")`);
  }
  // Computed values: each em length KaTeX set is in effect (border widths snap to device pixels,
  // and `height` of an inline box computes to auto, so those are left to the check above).
  const lengths = got.checks.filter((c) => c.wantPx !== null && !/^border-/.test(c.prop) && c.computed !== "auto");
  assert.ok(lengths.length >= 10, `${lengths.length} computed lengths checked`);
  for (const c of lengths) {
    const computed = Number.parseFloat(c.computed);
    assert.ok(
      Math.abs(computed - c.wantPx) < 0.05,
      `element ${c.i}: ${c.prop}: ${c.value} computes to ${c.computed}, expected ${c.wantPx.toFixed(3)}px`,
    );
  }
  assert.equal(got.color, "rgb(255, 0, 0)", "\\color{red} is in effect");
  assert.ok(got.frac.numBottom <= got.frac.denTop + 0.5, `numerator above denominator: ${JSON.stringify(got.frac)}`);
  assert.deepEqual(await violations(), [], "no CSP violation: nothing was applied as a style attribute");
});

test("the renderer page really is under the panel's CSP: a style attribute from markup is blocked and reported", async () => {
  const r = await page.evaluate(() => {
    const holder = document.createElement("div");
    document.body.append(holder);
    holder.innerHTML = '<span id="inline-probe" style="margin-left: 7px">x</span>';
    return new Promise((resolve) =>
      setTimeout(
        () => resolve({ margin: getComputedStyle(document.getElementById("inline-probe")).marginLeft, v: window.__violations.splice(0) }),
        100,
      ),
    );
  });
  assert.equal(r.margin, "0px", "the inline style attribute did not apply");
  assert.ok(
    r.v.some((x) => /^style-src/.test(x.directive)),
    JSON.stringify(r.v),
  );
});

// A reasoning model's answer as the panel receives it, one step per blank-line block: a
// `<think>` block over three steps, then the answer after `</think>` (recorded shape of
// DeepSeek-R1-distill/Qwen3 output; the panel renders each step with the think state the steps
// before it leave open).
const THINK_STEPS = [
  "<think>\nThe user asks for 12+7. Let me add the units first.\n\n",
  "2 + 7 = 9, and the tens give 10, so $10 + 9 = 19$.\n\n",
  "Double-check: 19 - 7 = 12. Good.\n</think>\n\n",
  "The answer is **19**.",
];

/** Renders recorded steps the way media/webview.ts does; returns facts per step. */
function probeSteps(steps, { streamingLast = false } = {}) {
  return page.evaluate(
    ([texts, streamingLast]) => {
      const R = window.ArbRender;
      const starts = R.thinkStates(texts);
      return texts.map((t, i) => {
        const el = document.createElement("div");
        document.body.append(el);
        const r = R.renderStepInto(el, t, streamingLast && i === texts.length - 1, starts[i]);
        const thinkText = Array.from(el.querySelectorAll(".think-body"))
          .map((x) => x.textContent)
          .join("|");
        const outside = Array.from(el.childNodes)
          .filter((n) => !(n instanceof Element && n.classList.contains("think")))
          .map((n) => n.textContent)
          .join("");
        return {
          startsInside: starts[i],
          thinking: r.thinking,
          labels: Array.from(el.querySelectorAll(".think-label")).map((x) => x.textContent),
          thinkText,
          outside,
          text: el.textContent,
          html: el.innerHTML,
          katex: el.querySelectorAll(".think .katex").length,
          live: el.querySelectorAll("script, img, a, iframe, [onerror], [href], [src]").length,
        };
      });
    },
    [steps, streamingLast],
  );
}

test("reasoning blocks: steps inside <think> are marked as thinking, the answer after </think> is not", async () => {
  const s = await probeSteps(THINK_STEPS);
  assert.deepEqual(
    s.map((x) => x.startsInside),
    [false, true, true, false],
  );
  assert.deepEqual(
    s.map((x) => x.thinking),
    ["all", "all", "all", "none"],
  );
  // The tags are labels, never tag text.
  assert.deepEqual(s[0].labels, ["Thinking"]);
  assert.deepEqual(s[1].labels, []);
  assert.deepEqual(s[2].labels, ["end of thinking"]);
  for (const x of s) {
    assert.ok(!x.text.includes("<think>") && !x.text.includes("</think>"), `raw tag text shown: ${x.text}`);
    assert.ok(!/<\/?think/i.test(x.html), `a think element in the DOM: ${x.html.slice(0, 200)}`);
  }
  assert.match(s[0].thinkText, /Let me add the units first/);
  assert.equal(s[0].outside.replace(/Thinking/, "").trim(), "", "nothing of step 1 outside the block");
  assert.match(s[1].thinkText, /2 \+ 7 = 9/);
  assert.equal(s[1].katex, 1, "math inside a thinking step still renders");
  assert.match(s[2].thinkText, /Double-check/);
  // The answer is plain step text, outside any think block.
  assert.equal(s[3].labels.length, 0);
  assert.match(s[3].outside, /The answer is 19\./);
  assert.equal(s[3].thinkText, "");
});

test("reasoning blocks: </think> and the answer in one step; a stray </think> makes what came before thinking", async () => {
  const [a, b] = await probeSteps(["<think>\nshort thought\n\n", "so 19.\n</think>\n\nThe answer is 19."]);
  assert.equal(a.thinking, "all");
  assert.equal(b.thinking, "part");
  assert.deepEqual(b.labels, ["end of thinking"]);
  assert.match(b.thinkText, /so 19\./);
  assert.match(b.outside, /The answer is 19\./);
  assert.ok(!b.outside.includes("so 19"), "the thought is not in the answer part");
  // Template put <think> into the prompt: the output starts inside the block.
  const c = await probeSteps(["Thinking about 12+7 without an opening tag.\n\n", "It is 19.\n</think>\n\n", "19"]);
  assert.deepEqual(
    c.map((x) => x.thinking),
    ["all", "all", "none"],
  );
  assert.deepEqual(c[1].labels, ["end of thinking"]);
  assert.match(c[2].outside, /19/);
});

test("reasoning blocks: a partial tag while streaming is held back; hostile text inside a block stays inert", async () => {
  const [p] = await probeSteps(["Let me think <thi"], { streamingLast: true });
  assert.equal(p.thinking, "none");
  assert.ok(!p.text.includes("<thi"), p.text);
  const [q] = await probeSteps(["<think>\nstill thinking </thi"], { streamingLast: true });
  assert.equal(q.thinking, "all");
  assert.ok(!q.text.includes("</thi"), q.text);
  const [h] = await probeSteps(['<think><script>window.__x=9</script><img src=x onerror="window.__x=10"> [l](javascript:alert(1))</think>\n\nok']);
  assert.equal(h.thinking, "part");
  assert.match(h.thinkText, /<script>window\.__x=9<\/script>/, "markup inside a block shows as text");
  assert.equal(await page.evaluate(() => window.__x ?? null), null);
  assert.equal(h.live, 0, h.html.slice(0, 300));
});

const HOSTILE = [
  "<script>window.__x=1</script>",
  '<img src=x onerror="window.__x=2">',
  '[a](javascript:window.__x=3) <a href="javascript:1">b</a> [c](http://127.0.0.1:47913/x)',
  "</div><div id=breakout>",
  "$\\href{javascript:window.__x=5}{x}$ \\(\\url{http://127.0.0.1:47913/u}\\) $$\\includegraphics{http://127.0.0.1:47913/g.png}$$",
  "![i](http://127.0.0.1:47913/i.png) <http://127.0.0.1:47913/auto> [r][r]\n\n[r]: javascript:alert(1)",
  '<svg onload="window.__x=7"><use href="#a"/></svg><iframe src="http://127.0.0.1:47913/f"></iframe><style>*{}</style>',
  "$\\htmlStyle{color:red}{x}$ $\\htmlClass{x}{y}$ $\\htmlId{z}{w}$ $\\htmlData{a=b}{c}$",
];

for (const [i, h] of HOSTILE.entries()) {
  test(`hostile input ${i + 1} renders inert`, async () => {
    const a = await probe(h);
    assert.equal(a.anchors + a.imgs + a.scripts, 0, a.html.slice(0, 300));
    assert.equal(a.hrefs, 0, a.html.slice(0, 300));
    assert.equal(a.handlers, 0);
    assert.equal(await page.evaluate(() => window.__x ?? null), null);
    assert.equal(await page.evaluate(() => !!document.getElementById("breakout")), false);
    assert.equal(await page.evaluate(() => document.querySelectorAll("iframe, style, use, foreignObject").length), 0);
  });
}

// ---------------------------------------------------------------------------------------------
// The whole panel page with a recorded reasoning run: the HTML and CSP that src/extension/panel.ts
// writes (bundled with a stand-in `vscode` module that only joins URIs), the real webview bundle
// (media/webview.ts) and stylesheet, and the host's messages posted as VS Code posts them.
// ---------------------------------------------------------------------------------------------

/** Bundles a TypeScript module for Node and imports it (CommonJS dependencies get a real `require`). */
async function importBundled(entry, plugins = []) {
  const banner = `import { createRequire as __arbRequire } from "node:module"; const require = __arbRequire(${JSON.stringify(join(root, "package.json"))});`;
  const out = await esbuild.build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
    plugins,
    banner: { js: banner },
  });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString("base64")}`);
}

const vscodeStub = {
  name: "vscode-stub",
  setup(b) {
    b.onResolve({ filter: /^vscode$/ }, () => ({ path: "vscode", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents:
        "export const Uri = { joinPath: (b, ...p) => ({ path: [b.path, ...p].join('/') }) }; export const ViewColumn = {}; export const window = {};",
      loader: "js",
    }));
  },
};

let panelModule;
/** src/extension/panel.ts, bundled with a stand-in `vscode` module (it only joins URIs). */
function panel() {
  panelModule ??= importBundled("src/extension/panel.ts", [vscodeStub]);
  return panelModule;
}

const stubWebview = { cspSource: ORIGIN, asWebviewUri: (u) => ({ toString: () => `${ORIGIN}${u.path}` }) };

/** The panel's Content-Security-Policy, as panel.ts builds it, with a fresh nonce. */
async function panelCsp() {
  const nonce = randomBytes(18).toString("base64");
  return { csp: (await panel()).contentSecurityPolicy(stubWebview, nonce), nonce };
}

let assetsMemo;
/** dist/webview as the panel loads it: the webview bundle, its stylesheet (KaTeX's included) and fonts. */
function webviewAssets() {
  assetsMemo ??= (async () => {
    const assets = new Map();
    const js = await esbuild.build({
      entryPoints: [join(root, "media", "webview.ts")],
      bundle: true,
      write: false,
      format: "iife",
      platform: "browser",
      target: ["chrome120"],
      logLevel: "warning",
    });
    assets.set("/ext/dist/webview/webview.js", { type: "text/javascript", body: js.outputFiles[0].contents });
    const css = await esbuild.build({
      entryPoints: [join(root, "media", "webview.css")],
      bundle: true,
      write: false,
      outdir: "/ext/dist/webview",
      assetNames: "fonts/[name]",
      loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
      logLevel: "warning",
    });
    for (const f of css.outputFiles) assets.set(f.path, { type: f.path.endsWith(".css") ? "text/css" : "font/woff2", body: f.contents });
    return assets;
  })();
  return assetsMemo;
}

async function panelPage() {
  const html = (await panel()).renderHtml(stubWebview, { path: "/ext" });
  const assets = await webviewAssets();
  const p = await browser.context.newPage();
  await p.setViewportSize({ width: 760, height: 900 });
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  p.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await serve(p, "/panel", html, assets);
  await p.addInitScript(() => {
    window.__posted = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} (${e.sourceFile}:${e.lineNumber}:${e.columnNumber})`),
    );
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__posted.push(m),
      getState: () => undefined,
      setState: (s) => (window.__saved = s),
    });
  });
  await p.goto(`${ORIGIN}/panel`);
  await p.waitForFunction(() => window.__posted.some((m) => m.type === "ready"));
  // The theme variables VS Code sets on a webview's <html> (Dark Modern), through CSSOM as VS Code does.
  await p.evaluate(() => {
    const vars = {
      "--vscode-font-family": "system-ui, sans-serif",
      "--vscode-font-size": "13px",
      "--vscode-foreground": "#cccccc",
      "--vscode-editor-background": "#1f1f1f",
      "--vscode-descriptionForeground": "#9d9d9d",
      "--vscode-panel-border": "#2b2b2b",
      "--vscode-button-background": "#0078d4",
      "--vscode-button-foreground": "#ffffff",
      "--vscode-charts-blue": "#3794ff",
      "--vscode-charts-orange": "#d18616",
      "--vscode-textBlockQuote-background": "#2b2b2b",
      "--vscode-editor-font-family": "monospace",
    };
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
  });
  return { page: p, errors, post: (m) => p.evaluate((msg) => window.postMessage(msg, "*"), m) };
}

test("router scores show the digits that decide them (confidence router scores of real models sit at 0.999…)", async () => {
  const { formatScore, formatThreshold, thresholdStep } = await importBundled("src/shared/scores.ts");
  const show = (score, th) => {
    const f = formatScore(score, th);
    return `${f.score} ${f.cmp} ${f.threshold}`;
  };
  assert.equal(show(0.4, 0.3), "0.40 ≥ 0.30");
  assert.equal(show(0.29, 0.3), "0.29 < 0.30", "0.29 * 100 is 28.999…: still 0.29");
  assert.equal(show(0.2999, 0.3), "0.29 < 0.30", "truncated, never rounded up to the threshold");
  assert.equal(show(0.99969, 0.999), "0.9996 ≥ 0.999");
  assert.equal(show(0.98876, 0.999), "0.988 < 0.999");
  assert.equal(show(0.99999999999, 0.999), "0.9999 ≥ 0.999", "never shown as 1");
  assert.equal(show(0.3, 0.3), "0.30 ≥ 0.30");
  assert.equal(formatThreshold(0.3), "0.30");
  assert.equal(formatThreshold(0.999), "0.999");
  assert.equal(thresholdStep(0.3), "0.01");
  assert.equal(thresholdStep(0.999), "0.001", "the slider keeps a threshold like 0.999 for a re-run");
});

function recordedStep(index, model, text, routerScore) {
  return {
    index,
    text,
    model,
    routerScore,
    tokens: Math.max(1, Math.round(text.length / 4)),
    draftTokensDiscarded: 0,
    targetTokensReused: 0,
    endedBy: "delimiter",
    ms: 40 + index * 7,
    draftMs: 30,
    targetMs: model === "target" ? 30 : 0,
    routerMs: 0.1,
  };
}

test("panel page: a recorded reasoning run shows thinking steps as thinking, the answer after </think> as the answer", async () => {
  const { extractFinalAnswer } = await importBundled("src/engine/answer.ts");
  const models = ["draft", "target", "draft", "target"];
  const scores = [0.21, 0.64, 0.12, 0.51];
  const steps = THINK_STEPS.map((t, i) => recordedStep(i, models[i], t, scores[i]));
  const text = THINK_STEPS.join("");
  const answer = extractFinalAnswer(text, "A:");
  assert.equal(answer, "19", "the engine's extractor reads the answer after </think>");
  const meter = (ms) => ({ generated: 20, evaluated: 30, committed: 20, discarded: 0, ms });
  const result = {
    question: "What is 12+7?",
    policy: "arbitrage",
    threshold: 0.5,
    steps,
    text,
    answer,
    finishReason: "eos",
    stats: {
      steps: 4,
      stepsByModel: { draft: 2, target: 2 },
      tokensByModel: { draft: 20, target: 20 },
      draftTokensDiscarded: 4,
      targetTokensDiscarded: 0,
      targetTokensReused: 0,
      targetVerifyWasted: 0,
      routerCalls: 4,
      routerMs: 0.4,
      scorerCalls: 0,
      scorerMs: 0,
      meters: { draft: meter(60), target: meter(240) },
      wallMs: 320,
      overheadMs: 10,
    },
  };
  const { page: p, errors, post } = await panelPage();
  try {
    const runId = "rec-1";
    await post({
      type: "run-started",
      run: { runId, question: "What is 12+7?", policy: "arbitrage", threshold: 0.5, pair: "recorded reasoning run", startedAt: 0 },
    });
    for (const s of steps) {
      // Stream each step token by token first (pending step, re-rendered per frame), then commit it.
      for (const chunk of s.text.match(/[\s\S]{1,5}/g))
        await post({ type: "engine-event", runId, event: { type: "token", index: s.index, model: s.model, text: chunk } });
      await p.waitForTimeout(30);
      await post({ type: "engine-event", runId, event: { type: "step-decided", step: s } });
    }
    await post({ type: "engine-event", runId, event: { type: "finished", result } });
    await p.locator('body[data-state="finished"]').waitFor({ timeout: 5000 });
    const dom = await p.evaluate(() => {
      const arts = Array.from(document.querySelectorAll("#steps > .step"));
      return {
        steps: arts.map((a) => ({
          model: a.dataset.model,
          thinking: a.dataset.thinking ?? "none",
          cls: a.className,
          labels: Array.from(a.querySelectorAll(".think-label")).map((l) => l.textContent),
          text: a.querySelector(".step-body").textContent,
        })),
        answer: document.getElementById("answer")?.textContent ?? null,
        pending: document.querySelectorAll(".step.pending").length,
        bodyText: document.getElementById("steps").textContent,
        live: document.querySelectorAll("#steps script, #steps img, #steps a, #steps think").length,
      };
    });
    await p.screenshot({ path: join(root, ".test-artifacts", "render-think.png"), fullPage: true });
    assert.equal(dom.pending, 0);
    assert.deepEqual(
      dom.steps.map((s) => s.model),
      models,
    );
    assert.deepEqual(
      dom.steps.map((s) => s.thinking),
      ["all", "all", "all", "none"],
    );
    assert.ok(dom.steps.slice(0, 3).every((s) => / thinking/.test(s.cls)) && !/thinking/.test(dom.steps[3].cls));
    assert.deepEqual(
      dom.steps.map((s) => s.labels),
      [["Thinking"], [], ["end of thinking"], []],
    );
    assert.ok(!dom.bodyText.includes("<think>") && !dom.bodyText.includes("</think>"), "no raw tag text in the panel");
    assert.match(dom.steps[3].text, /The answer is 19\./);
    assert.equal(dom.answer, "19", "the final answer is shown");
    assert.equal(dom.live, 0);
    assert.deepEqual(errors, [], "no script error and no CSP violation in the panel");
  } finally {
    await p.close();
  }
});
