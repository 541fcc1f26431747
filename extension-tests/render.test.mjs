// Webview renderer tests in headless Chromium (no VS Code needed): bundles media/render.ts — the
// exact code the panel uses for model text — loads it into a blank page, and checks
// math delimiters, streaming (unclosed) math, code highlighting and hostile input.
// Run: node --test extension-tests/render.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as esbuild from "esbuild";
import { join } from "node:path";
import { chromiumPath, launchBrowser, root } from "./lib/code-server.mjs";
import { existsSync } from "node:fs";

let browser;
let page;

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
  const script = out.outputFiles[0].text;
  browser = await launchBrowser();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.route("**/*", (r) => r.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><html><head></head><body></body></html>" }));
  await page.goto("http://arbitrage.test/");
  await page.addScriptTag({ content: script });
  await page.evaluate(() => {
    window.render = (text, streaming) => {
      const el = document.createElement("div");
      document.body.append(el);
      window.ArbRender.renderInto(el, text, streaming);
      return el;
    };
  });
});

after(async () => {
  await browser?.close();
});

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
        hrefs: Array.from(el.querySelectorAll("*")).filter((e) => e.hasAttribute("href") || e.hasAttribute("xlink:href") || e.hasAttribute("src")).length,
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
  assert.deepEqual(s.pending.map((p) => p.trim()), ["$x^2 +"]);
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

test("KaTeX inline styles move to CSSOM (CSP needs no 'unsafe-inline'), data-st removed", async () => {
  const a = await probe("$$\\sqrt{\\frac{a}{b}}$$");
  assert.ok(a.katex > 0);
  assert.equal(a.dataSt, 0);
  // styles applied via CSSOM are visible as style attributes after serialisation; none came from model text
});

const HOSTILE = [
  "<script>window.__x=1</script>",
  '<img src=x onerror="window.__x=2">',
  "[a](javascript:window.__x=3) <a href=\"javascript:1\">b</a> [c](http://127.0.0.1:47913/x)",
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
