/**
 * The answer's code blocks in the panel's summary: each complete fenced block of the final answer
 * (src/extension/code-prompt.ts, the host's own parser too), highlighted for its language, with
 * Copy, Insert at Cursor and Apply to Selection. A button posts only the block's index: the host
 * takes the code from its own copy of the answer, and Apply shows a diff to accept first.
 */
import type { CodeBlockAction, WebviewToHost } from "../src/protocol/index.js";
import { answerCode } from "../src/shared/answer-code.js";
import { highlightCode } from "./render.js";

const BUTTONS: readonly { action: CodeBlockAction; label: string; title: string }[] = [
  { action: "copy", label: "Copy", title: "Copy the code to the clipboard" },
  { action: "insert", label: "Insert at Cursor", title: "Insert the code at the cursor of the last focused editor" },
  { action: "apply", label: "Apply to Selection", title: "Show the code replacing the selection as a diff to accept or discard" },
];

/** Appends the answer's code section to `parent`; nothing when the answer has no code. */
export function renderAnswerCode(parent: HTMLElement, answer: string, post: (m: WebviewToHost) => void): void {
  const { blocks, unfinished } = answerCode(answer);
  if (blocks.length === 0 && !unfinished) return;
  const doc = parent.ownerDocument;
  const section = doc.createElement("section");
  section.className = "answer-code";
  const title = doc.createElement("h3");
  title.textContent = blocks.length === 1 ? "Code" : `Code (${blocks.length} blocks)`;
  section.append(title);
  blocks.forEach((b, index) => {
    const box = doc.createElement("div");
    box.className = "code-block";
    box.dataset.block = String(index);
    const bar = doc.createElement("div");
    bar.className = "code-block-bar";
    const lang = doc.createElement("span");
    lang.className = "code-block-lang";
    lang.textContent = b.language || "code";
    bar.append(lang);
    for (const { action, label, title: tip } of BUTTONS) {
      const button = doc.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.dataset.action = action;
      button.textContent = label;
      button.title = tip;
      button.addEventListener("click", () => post({ type: "code-block", action, block: index }));
      bar.append(button);
    }
    const pre = doc.createElement("pre");
    const code = doc.createElement("code");
    code.className = "hljs";
    code.innerHTML = highlightCode(b.code, b.language);
    pre.append(code);
    box.append(bar, pre);
    section.append(box);
  });
  if (unfinished) {
    const note = doc.createElement("p");
    note.className = "run-notice";
    note.textContent = "The answer stopped inside a code block: that unfinished block has no buttons.";
    section.append(note);
  }
  parent.append(section);
}
