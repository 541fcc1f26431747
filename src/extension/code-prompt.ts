/**
 * Code requests without VS Code: the question text a code request sends to the engine (the
 * user's question, the code it is about, its language and path, and what was cut), the final
 * code blocks of an answer, and chat-safe fences around model code. Pure functions, so the
 * extension host, the chat participant and the webview share one implementation and the unit
 * tests run it in plain Node.
 */

/** Where the code in a request came from; the prompt names it so the model knows what it was given. */
export type CodeSource = "selection" | "symbol" | "region" | "file";

export interface CodeSnippet {
  text: string;
  /** VS Code language id, e.g. `python`, `typescript`, `plaintext`. */
  languageId: string;
  /** Workspace-relative path (or the file name when outside a workspace). */
  path: string;
  source: CodeSource;
  /** 0-based line of the snippet's first line in its file. */
  startLine: number;
  /** The enclosing symbol's name when `source` is `symbol`. */
  symbol?: string;
}

export interface CodeQuestion {
  /** What the engine gets as the question. */
  text: string;
  /** Things the user must be told (a cut, an unfamiliar language); each one sentence. */
  notes: string[];
}

/**
 * Characters per token assumed when a tokenizer is not at hand (the extension host has none).
 * Code tokenizes at about 3–4 characters per token with the Qwen2.5 and Llama vocabularies; the
 * lower figure keeps the estimate on the safe side.
 */
export const CHARS_PER_TOKEN = 3;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * Tokens of the model's context that the code may take: half of it, the rest left for the
 * instructions, the question and the answer's steps.
 */
export function codeTokenBudget(contextSize: number): number {
  return Math.max(64, Math.floor(contextSize / 2));
}

export interface FittedText {
  text: string;
  /** Lines kept and lines in all, when the text was cut; null when it fits. */
  cut: { keptLines: number; totalLines: number } | null;
}

/** Keeps whole lines from the start of `text` while they fit in `budgetTokens` (at least part of the first line). */
export function fitToBudget(text: string, budgetTokens: number): FittedText {
  const maxChars = Math.max(1, budgetTokens) * CHARS_PER_TOKEN;
  if (text.length <= maxChars) return { text, cut: null };
  const lines = text.split("\n");
  let used = 0;
  let kept = 0;
  while (kept < lines.length && used + lines[kept]!.length + 1 <= maxChars) used += lines[kept++]!.length + 1;
  const body = kept === 0 ? lines[0]!.slice(0, maxChars) : lines.slice(0, kept).join("\n");
  return { text: body, cut: { keptLines: Math.max(kept, 1), totalLines: lines.length } };
}

/**
 * VS Code language ids of languages the instruct code models (Qwen2.5-Coder and the like) were
 * trained on in quantity. Another id still gets an answer, with a note that it may be poor.
 */
const KNOWN_CODE_LANGUAGES = new Set([
  "bat",
  "c",
  "clojure",
  "cpp",
  "csharp",
  "css",
  "dart",
  "dockerfile",
  "elixir",
  "fsharp",
  "go",
  "groovy",
  "haskell",
  "html",
  "java",
  "javascript",
  "javascriptreact",
  "json",
  "jsonc",
  "julia",
  "kotlin",
  "less",
  "lua",
  "makefile",
  "markdown",
  "objective-c",
  "ocaml",
  "perl",
  "php",
  "powershell",
  "python",
  "r",
  "ruby",
  "rust",
  "scala",
  "scss",
  "shellscript",
  "sql",
  "swift",
  "toml",
  "typescript",
  "typescriptreact",
  "vue",
  "xml",
  "yaml",
  "zig",
]);

export function isKnownCodeLanguage(languageId: string): boolean {
  return KNOWN_CODE_LANGUAGES.has(languageId);
}

/** Text with NUL characters is not source code (a binary file opened as text). */
export function looksBinary(text: string): boolean {
  return text.includes("\u0000");
}

/** The fence info string for a language id: markdown's names where VS Code's differ. */
export function fenceLanguage(languageId: string): string {
  const names: Record<string, string> = { shellscript: "bash", javascriptreact: "jsx", typescriptreact: "tsx", plaintext: "" };
  const name = names[languageId] ?? languageId;
  return /^[A-Za-z0-9_+#.-]{1,32}$/.test(name) ? name : "";
}

/**
 * A fenced code block whose fence is longer than any backtick run in `code`, so nothing in the
 * code can close it: chat markdown shows the code literally, as a code block with its own actions.
 */
export function fenced(code: string, languageId: string): string {
  const longest = Math.max(0, ...Array.from(code.matchAll(/`+/g), (m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${fenceLanguage(languageId)}\n${code.replace(/\n$/, "")}\n${fence}\n`;
}

function sourceLine(s: CodeSnippet): string {
  const lines = `lines ${s.startLine + 1}–${s.startLine + s.text.split("\n").length}`;
  switch (s.source) {
    case "selection":
      return `the selected code (${lines})`;
    case "symbol":
      return `the ${s.symbol ? `\`${s.symbol}\`` : "code"} around the cursor (${lines})`;
    case "region":
      return `the code around the cursor (${lines})`;
    case "file":
      return "the whole file";
  }
}

/**
 * The question a code request sends: the user's question, then what it was given (file, language,
 * which part) and the code in a fence. Code longer than `budgetTokens` is cut at a line with a
 * marker in the prompt and a note for the user.
 */
export function buildCodeQuestion(question: string, snippets: readonly CodeSnippet[], budgetTokens: number): CodeQuestion {
  const notes: string[] = [];
  const parts: string[] = [question.trim() || "Explain this code and suggest improvements."];
  let left = budgetTokens;
  for (const s of snippets) {
    const fitted = fitToBudget(s.text, Math.max(1, left));
    left -= estimateTokens(fitted.text);
    const language = isKnownCodeLanguage(s.languageId) ? s.languageId : `${s.languageId} (not a language the code models are known for)`;
    let header = `Given ${sourceLine(s)} of \`${s.path}\`, language ${language}:`;
    if (fitted.cut) {
      const { keptLines, totalLines } = fitted.cut;
      header += ` only its first ${keptLines} of ${totalLines} lines fit in the model's context; the rest is not shown.`;
      notes.push(
        `The code from ${s.path} was cut to its first ${keptLines} of ${totalLines} lines to fit the model's context (about ${budgetTokens} tokens for code).`,
      );
    }
    if (!isKnownCodeLanguage(s.languageId)) {
      notes.push(`${s.path} is in "${s.languageId}", a language the code models are not known to handle: the answer may be poor.`);
    }
    parts.push(`${header}\n\n${fenced(fitted.text, s.languageId)}`);
    if (left <= 0) break;
  }
  return { text: parts.join("\n\n"), notes };
}

/**
 * `code` as the replacement of `replaced`: a fence's content ends with a line break, and a
 * selection that stops at the end of a line has none, so the break is dropped there (the file
 * would gain a blank line).
 */
export function codeForRange(code: string, replaced: string): string {
  return code.endsWith("\n") && !replaced.endsWith("\n") ? code.slice(0, -1) : code;
}
