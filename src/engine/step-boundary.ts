/**
 * Where a step ends: at the step delimiter (a blank line by default) — but not inside a fenced
 * code block. A blank line between two functions of one code block is no step boundary: the
 * router would otherwise judge half a block on its own, and a rejected half would have the
 * target rewrite the block's second part without its first. Steps therefore never end inside a
 * fence, so each step's own text says whether a fence is open.
 */

/** A CommonMark fence line: up to three spaces, then three or more backticks or tildes. */
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** Whether `text` (a step so far) leaves a fenced code block open at its end. */
export function insideCodeFence(text: string): boolean {
  let open: string | null = null;
  for (const line of text.split("\n")) {
    const m = FENCE.exec(line);
    if (!m) continue;
    const marker = m[1]!;
    if (open === null) open = marker;
    // A closing fence uses the opening's character, at least as many of them, and nothing after.
    else if (marker[0] === open[0] && marker.length >= open.length && line.trim() === marker) open = null;
  }
  return open !== null;
}

/**
 * Whether `text` holds a step boundary that starts at or after `from` (the part of the text the
 * newest token added, less the delimiter's length): a delimiter outside any code fence.
 */
export function hasStepBoundary(text: string, delimiter: string, from: number): boolean {
  for (let at = text.indexOf(delimiter, from); at >= 0; at = text.indexOf(delimiter, at + 1)) {
    if (!insideCodeFence(text.slice(0, at))) return true;
  }
  return false;
}
