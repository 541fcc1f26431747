/**
 * An answer's fenced code blocks, read the same way by the webview (its Copy / Insert / Apply
 * buttons) and the extension host (which applies the block the webview names by index).
 */
import MarkdownIt from "markdown-it";

export interface CodeBlock {
  /** The fence's info string (its first word), lower-cased; empty when none. */
  language: string;
  code: string;
}

export interface AnswerCode {
  /** The answer's complete fenced code blocks, in order. */
  blocks: CodeBlock[];
  /** The answer stops inside a fence (a cancelled or cut-off run): that block is not in `blocks`. */
  unfinished: boolean;
}

const markdown = new MarkdownIt({ html: false, linkify: false });
const CLOSING_FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

/**
 * The fenced code blocks of an answer (markdown-it's own parse, so indentation and fence lengths
 * follow CommonMark). A fence that runs to the end of the text without its closing line is
 * unfinished and left out: half a function is never offered for applying.
 */
export function answerCode(text: string): AnswerCode {
  const lines = text.split("\n");
  const blocks: CodeBlock[] = [];
  let unfinished = false;
  for (const t of markdown.parse(text, {})) {
    if (t.type !== "fence" || !t.map) continue;
    const last = lines[t.map[1] - 1] ?? "";
    const close = CLOSING_FENCE.exec(last);
    const closed = t.map[1] - 1 > t.map[0] && close !== null && close[1]![0] === t.markup[0] && close[1]!.length >= t.markup.length;
    if (!closed) {
      unfinished = true;
      continue;
    }
    blocks.push({ language: t.info.trim().split(/\s+/)[0]!.toLowerCase(), code: t.content });
  }
  return { blocks, unfinished };
}
