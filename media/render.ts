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
    // KaTeX's inline styles leave as `data-st` (applied later through CSSOM): a `style` attribute
    // reaching DOMPurify's DOMParser would already be a CSP violation report in the webview.
    // KaTeX escapes its text and attribute values, so ` style="` only occurs as its own attribute.
    return katex.renderToString(tex, { ...KATEX_OPTIONS, displayMode }).replace(/ style="/g, ' data-st="');
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
  "a",
  "img",
  "image",
  "iframe",
  "frame",
  "object",
  "embed",
  "form",
  "input",
  "button",
  "textarea",
  "select",
  "style",
  "script",
  "link",
  "meta",
  "base",
  "video",
  "audio",
  "source",
  "track",
  "picture",
  "use",
  "foreignobject",
  "animate",
  "set",
  "animatemotion",
  "animatetransform",
  "maction",
];
const FORBID_ATTR = ["href", "xlink:href", "src", "srcset", "action", "formaction", "background", "poster", "ping"];

/** CSS properties KaTeX emits; anything else in a style attribute is dropped. */
const STYLE_PROPS = new Set([
  "height",
  "width",
  "min-width",
  "max-width",
  "vertical-align",
  "top",
  "left",
  "right",
  "bottom",
  "margin",
  "margin-left",
  "margin-right",
  "margin-top",
  "margin-bottom",
  "padding-left",
  "padding-right",
  "border-bottom-width",
  "border-top-width",
  "border-right-width",
  "border-left-width",
  "border-width",
  "border-style",
  "border-color",
  "color",
  "position",
  "font-size",
  "display",
]);

let hooked = false;
function ensureHooks(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("uponSanitizeAttribute", (_node, data) => {
    // KaTeX's styles arrive as `data-st` (renderMath); USE_PROFILES makes DOMPurify ignore
    // ADD_ATTR, so keep them here. applyStyles filters every property before it is applied.
    if (data.attrName === "data-st") data.forceKeepAttr = true;
    else if (data.attrName === "style") {
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

/**
 * Code -> sanitised highlighted HTML: the fence's language when highlight.js knows it, else the
 * best guess among the registered languages (an answer's fence often names none).
 */
export function highlightCode(code: string, language: string): string {
  const l = language.trim().toLowerCase();
  try {
    const html = l && hljs.getLanguage(l) ? hljs.highlight(code, { language: l, ignoreIllegals: true }).value : hljs.highlightAuto(code).value;
    return sanitize(html);
  } catch {
    return escapeHtml(code);
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

// ----------------------------------------------------------------------------------------------
// Reasoning blocks: `<think> … </think>`
// ----------------------------------------------------------------------------------------------
// A reasoning model writes its thinking between `<think>` and `</think>` before the answer, and
// a block usually spans several steps (a step ends at a blank line). The tags are shown as labels
// ("Thinking", "end of thinking") built with textContent, never as tag text and never as HTML;
// the text inside goes through renderInto like any other model text. Templates that put
// `<think>` into the prompt (DeepSeek-R1 distills, Qwen3) make the answer start inside the block
// with only `</think>` written: as in src/engine/answer.ts, everything before a `</think>` that no
// `<think>` opened is thinking.

export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

export interface ThinkSegment {
  text: string;
  thinking: boolean;
  /** This step wrote the segment's `<think>`. */
  opened: boolean;
  /** This step wrote the segment's `</think>`. */
  closed: boolean;
}

/**
 * Splits one step's text at its think tags. `inside`: a think block is open at the step's start.
 * While streaming, a trailing partial tag (`<thi`) is held back so it never flashes as text.
 */
export function splitThinking(text: string, inside: boolean, streaming = false): { segments: ThinkSegment[]; insideAtEnd: boolean } {
  const segments: ThinkSegment[] = [];
  let pos = 0;
  let opened = false;
  for (;;) {
    const tag = inside ? THINK_CLOSE : THINK_OPEN;
    const at = text.indexOf(tag, pos);
    if (at < 0) {
      let rest = text.slice(pos);
      if (streaming) {
        for (let k = Math.min(tag.length - 1, rest.length); k > 0; k--) {
          if (tag.startsWith(rest.slice(rest.length - k))) {
            rest = rest.slice(0, rest.length - k);
            break;
          }
        }
      }
      if (rest !== "" || opened) segments.push({ text: rest, thinking: inside, opened, closed: false });
      return { segments, insideAtEnd: inside };
    }
    const before = text.slice(pos, at);
    if (inside) segments.push({ text: before, thinking: true, opened, closed: true });
    else if (before !== "") segments.push({ text: before, thinking: false, opened: false, closed: false });
    opened = !inside;
    inside = !inside;
    pos = at + tag.length;
  }
}

/** Whether the answer starts inside a think block: its first think tag is a `</think>`. */
export function startsInsideThink(texts: readonly string[]): boolean {
  for (const t of texts) {
    const close = t.indexOf(THINK_CLOSE);
    const open = t.indexOf(THINK_OPEN);
    if (close >= 0 || open >= 0) return close >= 0 && (open < 0 || close < open);
  }
  return false;
}

/**
 * Whether a think block is open at the start of each step (`texts`: the steps in order). The
 * answer starts inside one when its first think tag is a `</think>`.
 */
export function thinkStates(texts: readonly string[]): boolean[] {
  let inside = startsInsideThink(texts);
  return texts.map((t) => {
    const start = inside;
    inside = splitThinking(t, inside).insideAtEnd;
    return start;
  });
}

export type StepThinking = "none" | "part" | "all";

/**
 * Renders one step (the panel's only way to put a step's text into the DOM): text without think
 * tags outside a block renders exactly as renderInto; otherwise each segment gets its own
 * element, thinking ones inside `div.think` with their labels.
 */
export function renderStepInto(
  el: Element,
  text: string,
  streaming: boolean,
  thinkingAtStart: boolean,
): { thinking: StepThinking; insideAtEnd: boolean } {
  const { segments, insideAtEnd } = splitThinking(text, thinkingAtStart, streaming);
  if (!thinkingAtStart && segments.every((s) => !s.thinking)) {
    renderInto(el, segments.map((s) => s.text).join(""), streaming);
    return { thinking: "none", insideAtEnd };
  }
  el.textContent = "";
  const doc = el.ownerDocument;
  let thinkingParts = 0;
  let otherParts = 0;
  for (const s of segments) {
    const blank = s.text.trim() === "";
    if (!s.thinking) {
      if (blank) continue;
      otherParts++;
      const div = doc.createElement("div");
      div.className = "after-think";
      renderInto(div, s.text, streaming);
      el.append(div);
      continue;
    }
    thinkingParts++;
    const block = doc.createElement("div");
    block.className = "think";
    if (s.opened) block.classList.add("think-start");
    if (s.closed) block.classList.add("think-end");
    const label = (cls: string, t: string) => {
      const span = doc.createElement("div");
      span.className = `think-label ${cls}`;
      span.textContent = t;
      return span;
    };
    if (s.opened) block.append(label("think-open", "Thinking"));
    if (!blank) {
      const body = doc.createElement("div");
      body.className = "think-body";
      renderInto(body, s.text, streaming);
      block.append(body);
    }
    if (s.closed) block.append(label("think-close", "end of thinking"));
    el.append(block);
  }
  return { thinking: thinkingParts === 0 ? "none" : otherParts === 0 ? "all" : "part", insideAtEnd };
}
