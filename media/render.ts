/**
 * Model text -> safe HTML for the webview.
 *
 * Layers (each alone keeps hostile text inert):
 *  1. markdown-it with `html: false` (raw HTML in model text is escaped), links and images
 *     rendered as inert spans (no <a>, no <img>), no linkify;
 *  2. math through KaTeX with `trust: false` (\href, \url, \includegraphics, \htmlX are refused)
 *     and `throwOnError: false`;
 *  3. DOMPurify over the result with a tag/attribute allowlist (no a/img/iframe/form/style/script,
 *     no href/src/on*), KaTeX's inline styles moved to `data-st` and applied through CSSOM
 *     (CSP forbids inline style attributes) after a property allowlist.
 *
 * Math delimiters: \( \), \[ \], $ $, $$ $$. `$` follows pandoc's rule (opening `$` not followed
 * by a space, closing `$` not preceded by a space nor followed by a digit), so "$40 and $50" stays
 * text. While a step is still streaming an unclosed opener shows the raw math as pending text.
 */
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import typescript from "highlight.js/lib/languages/typescript";
import katex from "katex";
import MarkdownIt from "markdown-it";

type Md = InstanceType<typeof MarkdownIt>;
type StateInline = Parameters<Parameters<Md["inline"]["ruler"]["before"]>[2]>[0];
type StateBlock = Parameters<Parameters<Md["block"]["ruler"]["before"]>[2]>[0];

hljs.registerLanguage("bash", bash);
hljs.registerLanguage("c", c);
hljs.registerLanguage("cpp", cpp);
hljs.registerLanguage("go", go);
hljs.registerLanguage("java", java);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("json", json);
hljs.registerLanguage("python", python);
hljs.registerLanguage("rust", rust);
hljs.registerLanguage("typescript", typescript);

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

const KATEX_OPTIONS = {
  throwOnError: false,
  trust: false,
  strict: "ignore" as const,
  maxSize: 50,
  maxExpand: 500,
  output: "htmlAndMathml" as const,
};

function renderMath(tex: string, displayMode: boolean): string {
  try {
    return katex.renderToString(tex, { ...KATEX_OPTIONS, displayMode });
  } catch {
    return `<code class="math-error">${escapeHtml(tex)}</code>`;
  }
}

// ----------------------------------------------------------------------------------------------
// markdown-it math plugin
// ----------------------------------------------------------------------------------------------

interface Env {
  streaming: boolean;
}

function isSpace(ch: string | undefined): boolean {
  return ch === undefined || /\s/.test(ch);
}

/** Finds a valid closing `$` for an opening `$` at `start` (pandoc rules), or -1. */
function findDollarClose(src: string, start: number): number {
  let i = start + 1;
  while (i < src.length) {
    const j = src.indexOf("$", i);
    if (j < 0) return -1;
    if (src[j - 1] === "\\") {
      i = j + 1;
      continue;
    }
    if (!isSpace(src[j - 1]) && !/[0-9]/.test(src[j + 1] ?? "") && j > start + 1) return j;
    i = j + 1;
  }
  return -1;
}

function mathInline(state: StateInline, silent: boolean): boolean {
  const src = state.src;
  const pos = state.pos;
  const env = state.env as unknown as Env;
  const ch = src[pos];
  let open: string, close: string, display: boolean;
  if (ch === "\\" && src[pos + 1] === "(") [open, close, display] = ["\\(", "\\)", false];
  else if (ch === "\\" && src[pos + 1] === "[") [open, close, display] = ["\\[", "\\]", true];
  else if (ch === "$" && src[pos + 1] === "$") [open, close, display] = ["$$", "$$", true];
  else if (ch === "$") [open, close, display] = ["$", "$", false];
  else return false;

  let end: number;
  if (open === "$") {
    if (isSpace(src[pos + 1])) return false;
    if (pos > 0 && src[pos - 1] === "\\") return false;
    end = findDollarClose(src, pos);
  } else {
    end = src.indexOf(close, pos + open.length);
  }
  if (end < 0) {
    // Unclosed: while streaming the closer may still come; show the raw math as pending text.
    // A `$` before a digit is read as a price, never as pending math.
    if (!env.streaming || (open === "$" && /[0-9]/.test(src[pos + 1] ?? ""))) return false;
    if (!silent) {
      const t = state.push("math_pending", "", 0);
      t.content = src.slice(pos);
    }
    state.pos = src.length;
    return true;
  }
  const content = src.slice(pos + open.length, end);
  if (content.trim() === "") return false;
  if (!silent) {
    const t = state.push(display ? "math_display_inline" : "math_inline", "", 0);
    t.content = content;
  }
  state.pos = end + close.length;
  return true;
}

function mathBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  const env = state.env as unknown as Env;
  const lineText = (l: number) => state.src.slice(state.bMarks[l]! + state.tShift[l]!, state.eMarks[l]);
  if (state.sCount[startLine]! - state.blkIndent >= 4) return false;
  const first = lineText(startLine);
  let open: string, close: string;
  if (first.startsWith("$$")) [open, close] = ["$$", "$$"];
  else if (first.startsWith("\\[")) [open, close] = ["\\[", "\\]"];
  else return false;

  let body = first.slice(open.length);
  let line = startLine;
  let closed = false;
  let closeIdx = body.indexOf(close);
  if (closeIdx >= 0) {
    if (body.slice(closeIdx + close.length).trim() !== "") return false; // inline math inside a paragraph
    body = body.slice(0, closeIdx);
    closed = true;
  } else {
    const parts = [body];
    while (++line < endLine) {
      const t = lineText(line);
      if (state.sCount[line]! < state.blkIndent && t.trim() !== "") break;
      closeIdx = t.indexOf(close);
      if (closeIdx >= 0) {
        parts.push(t.slice(0, closeIdx));
        closed = true;
        break;
      }
      parts.push(t);
    }
    body = parts.join("\n");
    if (!closed) line = endLine - 1;
  }
  if (!closed && !env.streaming) return false;
  if (silent) return true;
  const tok = state.push(closed ? "math_block" : "math_block_pending", "", 0);
  tok.content = closed ? body : `${open}${body}`;
  tok.map = [startLine, line + 1];
  state.line = line + 1;
  return true;
}

function createMarkdown(): Md {
  const md = new MarkdownIt({
    html: false,
    linkify: false,
    typographer: false,
    breaks: false,
    highlight(code, lang) {
      const l = lang.trim().toLowerCase();
      if (l && hljs.getLanguage(l)) {
        try {
          return hljs.highlight(code, { language: l, ignoreIllegals: true }).value;
        } catch {
          /* fall through to escaped text */
        }
      }
      return escapeHtml(code);
    },
  });
  md.inline.ruler.before("escape", "math_inline", mathInline);
  md.block.ruler.before("fence", "math_block", mathBlock, { alt: ["paragraph", "reference", "blockquote", "list"] });
  md.renderer.rules.math_inline = (t, i) => renderMath(t[i]!.content, false);
  md.renderer.rules.math_display_inline = (t, i) => renderMath(t[i]!.content, true);
  md.renderer.rules.math_block = (t, i) => `<div class="math-block">${renderMath(t[i]!.content, true)}</div>\n`;
  md.renderer.rules.math_pending = (t, i) => `<span class="math-pending">${escapeHtml(t[i]!.content)}</span>`;
  md.renderer.rules.math_block_pending = (t, i) => `<div class="math-pending">${escapeHtml(t[i]!.content)}</div>\n`;
  // Links and images never become live elements: the target is shown, never followed or loaded.
  md.renderer.rules.link_open = (t, i) => `<span class="md-link" title="${escapeHtml(String(t[i]!.attrGet("href") ?? ""))}">`;
  md.renderer.rules.link_close = () => "</span>";
  md.renderer.rules.image = (t, i) => `<span class="md-image">[image: ${escapeHtml(t[i]!.content)}]</span>`;
  return md;
}

const md = createMarkdown();

// ----------------------------------------------------------------------------------------------
// Sanitising
// ----------------------------------------------------------------------------------------------

const FORBID_TAGS = [
  "a", "img", "image", "iframe", "frame", "object", "embed", "form", "input", "button", "textarea", "select",
  "style", "script", "link", "meta", "base", "video", "audio", "source", "track", "picture", "use",
  "foreignobject", "animate", "set", "animatemotion", "animatetransform", "maction",
];
const FORBID_ATTR = ["href", "xlink:href", "src", "srcset", "action", "formaction", "background", "poster", "ping"];

/** CSS properties KaTeX emits; anything else in a style attribute is dropped. */
const STYLE_PROPS = new Set([
  "height", "width", "min-width", "max-width", "vertical-align", "top", "left", "right", "bottom",
  "margin", "margin-left", "margin-right", "margin-top", "margin-bottom", "padding-left", "padding-right",
  "border-bottom-width", "border-top-width", "border-right-width", "border-left-width", "border-width",
  "border-style", "border-color", "color", "position", "font-size", "display",
]);

let hooked = false;
function ensureHooks(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("uponSanitizeAttribute", (_node, data) => {
    if (data.attrName === "style") {
      data.keepAttr = false;
      (_node as Element).setAttribute("data-st", data.attrValue);
    }
  });
}

export function sanitize(html: string): string {
  ensureHooks();
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true, mathMl: true, svg: true },
    FORBID_TAGS,
    FORBID_ATTR,
    ADD_ATTR: ["data-st"],
    ALLOW_DATA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
  });
}

/** Applies the allowlisted part of each `data-st` through CSSOM (allowed by the CSP). */
export function applyStyles(root: Element): void {
  for (const el of Array.from(root.querySelectorAll<HTMLElement | SVGElement>("[data-st]"))) {
    const text = el.getAttribute("data-st") ?? "";
    el.removeAttribute("data-st");
    for (const decl of text.split(";")) {
      const k = decl.indexOf(":");
      if (k < 0) continue;
      const prop = decl.slice(0, k).trim().toLowerCase();
      const value = decl.slice(k + 1).trim();
      if (!STYLE_PROPS.has(prop) || /url\(|expression|@import|\\/i.test(value) || value.length > 100) continue;
      el.style.setProperty(prop, value);
    }
  }
}

/** Model text -> sanitised HTML string (still needs `applyStyles` after insertion). */
export function renderModelText(text: string, streaming: boolean): string {
  let html: string;
  try {
    html = md.render(text, { streaming } satisfies Env);
  } catch {
    html = `<pre>${escapeHtml(text)}</pre>`;
  }
  return sanitize(html);
}

/** Renders into an element (the only way model text reaches the DOM). */
export function renderInto(el: Element, text: string, streaming: boolean): void {
  el.innerHTML = renderModelText(text, streaming);
  applyStyles(el);
}
