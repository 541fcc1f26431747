/**
 * The final answer of a generated text, for math-style answers. One extractor for the engine,
 * the benchmark, the panel and the chat. In order of trust:
 * 1. a line starting with the task's final-answer marker (the embedded models' `A: <n>`);
 * 2. the last `\boxed{…}` (balanced braces), as instruct math models are asked to write;
 * 3. the last "the answer is …" / "final answer: …" / "Answer: …" phrase;
 * 4. the last number in the text.
 * A reasoning model's `<think> … </think>` block is thinking, not answering: the answer is looked
 * for after `</think>` first, and inside the block only when nothing follows it (a cut-off answer).
 */

const THINK_END = "</think>";

export function extractFinalAnswer(text: string, finalAnswerMarker = ""): string | null {
  const end = text.lastIndexOf(THINK_END);
  if (end >= 0) {
    const after = answerIn(text.slice(end + THINK_END.length), finalAnswerMarker);
    if (after !== null) return after;
    return answerIn(text.slice(0, end).replace(/<think>/g, ""), finalAnswerMarker);
  }
  return answerIn(text.replace(/<think>/g, ""), finalAnswerMarker);
}

function answerIn(text: string, marker: string): string | null {
  return markedLine(text, marker) ?? lastBoxed(text) ?? answerPhrase(text) ?? lastNumber(text);
}

function markedLine(text: string, marker: string): string | null {
  if (marker === "") return null;
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line.startsWith(marker)) return clean(line.slice(marker.length)) || null;
  }
  return null;
}

function lastBoxed(text: string): string | null {
  for (let at = text.lastIndexOf("\\boxed{"); at >= 0; at = text.lastIndexOf("\\boxed{", at - 1)) {
    const start = at + "\\boxed{".length;
    let depth = 0;
    for (let j = start; j < text.length; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}" && depth-- === 0) {
        const inner = text.slice(start, j).trim();
        if (inner !== "") return inner;
        break;
      }
    }
    if (at === 0) break;
  }
  return null;
}

const PHRASE = /(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*([^\n]+)/gi;

function answerPhrase(text: string): string | null {
  let last: string | null = null;
  for (const m of text.matchAll(PHRASE)) {
    const value = clean(m[1]!.replace(/([.!?;])(\s.*)?$/s, ""));
    if (value !== "") last = value;
  }
  if (last === null) return null;
  // "The answer is 19 apples" → 19: a phrase that holds a number answers with that number.
  return firstNumber(last) ?? last;
}

const NUMBER = /-?\d[\d,]*(?:\.\d+)?(?:\/\d+)?/g;

function firstNumber(text: string): string | null {
  const m = text.match(NUMBER);
  return m ? normaliseNumber(m[0]) : null;
}

function lastNumber(text: string): string | null {
  const all = text.match(NUMBER);
  return all && all.length > 0 ? normaliseNumber(all[all.length - 1]!) : null;
}

function normaliseNumber(n: string): string {
  // Thousands separators only (1,234 → 1234); a trailing comma is punctuation.
  return n.replace(/,(?=\d{3}(?:\D|$))/g, "").replace(/,$/, "");
}

function clean(s: string): string {
  return s
    .trim()
    .replace(/^\$+|\$+$/g, "")
    .replace(/^\*\*|\*\*$/g, "")
    .replace(/[.。]$/, "")
    .trim();
}

function normalise(answer: string): string {
  return answer
    .trim()
    .replace(/^\\boxed\{(.*)\}$/s, "$1")
    .replace(/[\s,]/g, "")
    .replace(/\.$/, "")
    .replace(/^\$(.*)\$$/s, "$1");
}

/** Final-answer match: exact after normalising spaces, thousands separators and a trailing period; numbers compare by value. */
export function answerMatches(got: string | null, want: string): boolean {
  if (got === null) return false;
  const a = normalise(got);
  const b = normalise(want);
  if (a === b) return true;
  const na = Number(a);
  const nb = Number(b);
  return a !== "" && b !== "" && Number.isFinite(na) && Number.isFinite(nb) && na === nb;
}
