/**
 * Chat integration:
 *  - the `@arbitrage` chat participant (`/math`, `/code`) streams routed steps as markdown;
 *  - a language model provider "Arbitrage (draft→target)" for the chat model picker / inline chat,
 *    registered only where `vscode.lm.registerLanguageModelChatProvider` exists (VS Code >= 1.104;
 *    absent on 1.100, where activation must still work).
 * Model output is untrusted: every piece of it goes through `escapeChatMarkdown`.
 */
import * as vscode from "vscode";
import { REASON_DEFAULTS } from "../engine/defaults.js";
import type { EngineEvent, PromptStyle, ReasonOptions, ReasonResult, StepRecord } from "../engine/types.js";
import { formatScore } from "../shared/scores.js";
import { isArbitrageError } from "../protocol/index.js";
import type { CodeRequests } from "./code-requests.js";
import { formatMs, percent, speedupText, summarize } from "../protocol/summary.js";

export const PARTICIPANT_ID = "arbitrage.chat";
export const LM_VENDOR = "arbitrage";

/** What chat needs from the extension's controller (kept narrow so tests drive the real one). */
export interface ChatRunner {
  run(
    question: string,
    overrides: Partial<ReasonOptions>,
    onEvent: (e: EngineEvent) => void,
    token: vscode.CancellationToken,
    source: "chat" | "lm",
  ): Promise<{ runId: string; result: ReasonResult }>;
  knownTargetMsPerToken(): number | null;
  readonly contextSize: number;
  /** Code requests' context in and code out (code-requests.ts); absent: every request is plain text. */
  readonly code?: Pick<CodeRequests, "chatCode" | "lmQuestion">;
}

/**
 * Escapes text so chat markdown shows it literally: HTML-significant characters become entities
 * and every markdown punctuation character is backslash-escaped (no links, images, emphasis,
 * code spans, headings or HTML can come from model output).
 */
export function escapeChatMarkdown(text: string): string {
  return text
    .replace(/[\\`*_{}[\]()#+\-.!|~$:]/g, (ch) => `\\${ch}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r\n?/g, "\n")
    .replaceAll("\u0000", "\uFFFD");
}

function safeMarkdown(value: string): vscode.MarkdownString {
  const md = new vscode.MarkdownString(value, false);
  md.isTrusted = false;
  md.supportHtml = false;
  return md;
}

export function stepHeading(step: StepRecord, threshold: number): string {
  const score = step.routerScore ?? step.scorerScore;
  const shown = score === undefined ? undefined : formatScore(score, threshold);
  const routing =
    shown === undefined ? "" : ` · ${step.routerScore !== undefined ? "router" : "scorer"} ${shown.score} ${shown.cmp} ${shown.threshold}`;
  const icon = step.model === "target" ? "🟧" : "🟦";
  return `${icon} **${step.model}** · step ${step.index + 1}${routing} · ${step.tokens} tok · ${formatMs(step.ms)}`;
}

/** Markdown for one committed step: our own heading, then the model text escaped. */
export function stepMarkdown(step: StepRecord, threshold: number): string {
  return `${stepHeading(step, threshold)}\n\n${escapeChatMarkdown(step.text.trimEnd())}\n\n`;
}

export function summaryMarkdown(result: ReasonResult, knownMsPerToken: number | null): string {
  const s = summarize(result, knownMsPerToken);
  return (
    `---\n\n**Summary:** ${s.steps} steps — draft ${s.draftSteps} (${percent(s.draftShare)}), target ${s.targetSteps} (${percent(s.targetShare)}) · ${s.tokens} tokens · ${formatMs(s.wallMs)} · est. speedup vs target-only ${speedupText(s)}` +
    (result.answer !== null ? ` · answer: ${escapeChatMarkdown(result.answer)}` : "") +
    "\n"
  );
}

function promptStyleFor(command: string | undefined): PromptStyle | undefined {
  if (command === "math") return "math";
  if (command === "code") return "code";
  return undefined;
}

export function createChatHandler(runner: ChatRunner): vscode.ChatRequestHandler {
  return async (request, _context, stream, token) => {
    const code = await runner.code?.chatCode(request);
    if (code?.refusal) {
      stream.markdown(code.refusal);
      return { metadata: { refused: true } };
    }
    const question = (code?.question ?? request.prompt).trim();
    if (!question) {
      stream.markdown("Ask a question, e.g. `@arbitrage /math What is 12*7+5?`");
      return {};
    }
    const promptStyle = promptStyleFor(request.command);
    stream.progress("Arbitrage: loading models and reasoning…");
    // The engine's run-started event names the threshold in use; until then, the default.
    let threshold: number = REASON_DEFAULTS.threshold;
    let steps = 0;
    for (const n of code?.notes ?? []) stream.markdown(safeMarkdown(`> **Note:** ${escapeChatMarkdown(n)}\n\n`));
    try {
      const { runId, result } = await runner.run(
        question,
        promptStyle ? { promptStyle } : {},
        (e) => {
          if (e.type === "run-started") {
            threshold = e.threshold;
            // The engine's warnings (its own text, e.g. a question outside the embedded models' family) come before any step.
            for (const w of e.warnings ?? []) stream.markdown(safeMarkdown(`> **Warning:** ${escapeChatMarkdown(w)}\n\n`));
            for (const n of e.notices ?? []) stream.markdown(safeMarkdown(`> **Note:** ${escapeChatMarkdown(n)}\n\n`));
          } else if (e.type === "step-started") stream.progress(`Step ${e.index + 1}: ${e.model} writing…`);
          else if (e.type === "step-decided") {
            steps++;
            stream.markdown(safeMarkdown(stepMarkdown(e.step, threshold)));
          }
        },
        token,
        "chat",
      );
      if (result.finishReason === "cancelled" || token.isCancellationRequested) {
        stream.markdown(safeMarkdown(`_Stopped after ${steps} step(s)._\n`));
      } else {
        stream.markdown(safeMarkdown(summaryMarkdown(result, runner.knownTargetMsPerToken())));
      }
      code?.finish(result, stream);
      stream.button({ command: "arbitrage.openPanel", title: "Open in Arbitrage panel", arguments: [runId] });
      return { metadata: { runId, steps: result.steps.length, finishReason: result.finishReason } };
    } catch (e) {
      if (isArbitrageError(e, "cancelled") || token.isCancellationRequested) {
        stream.markdown(safeMarkdown(`_Stopped after ${steps} step(s)._\n`));
        return { metadata: { cancelled: true } };
      }
      const message = e instanceof Error ? e.message : String(e);
      return { errorDetails: { message }, metadata: { error: isArbitrageError(e) ? e.code : "internal" } };
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Language model provider (stable since VS Code 1.104; typed locally since @types/vscode is 1.100)
// ---------------------------------------------------------------------------------------------

export interface LmChatInformation {
  id: string;
  name: string;
  family: string;
  version: string;
  maxInputTokens: number;
  maxOutputTokens: number;
  tooltip?: string;
  detail?: string;
  capabilities: { imageInput?: boolean; toolCalling?: boolean | number };
}

interface LmMessageLike {
  role: number;
  content: ReadonlyArray<unknown>;
}

function textOfMessage(m: LmMessageLike | string): string {
  if (typeof m === "string") return m;
  return m.content
    .map((p) =>
      p instanceof vscode.LanguageModelTextPart
        ? p.value
        : typeof (p as { value?: unknown }).value === "string"
          ? (p as { value: string }).value
          : "",
    )
    .join("");
}

export function createLanguageModelProvider(runner: ChatRunner) {
  const info = (): LmChatInformation => ({
    id: "arbitrage-draft-target",
    name: "Arbitrage (draft→target)",
    family: "arbitrage",
    version: "0.1.0",
    maxInputTokens: runner.contextSize,
    maxOutputTokens: runner.contextSize,
    tooltip: "Local step-level speculation: a small draft model writes, a router calls the large target model only where it helps.",
    detail: "local",
    // toolCalling: VS Code 1.139's chat view has only the Agent mode, and its model picker lists
    // only models that accept tools (`suitableForAgentMode`). The engine takes the tools offered
    // and never calls one: it answers in text, which the agent shows as the reply.
    capabilities: { imageInput: false, toolCalling: true },
  });
  return {
    provideLanguageModelChatInformation(_options: { silent: boolean }, _token: vscode.CancellationToken): LmChatInformation[] {
      return [info()];
    },
    async provideLanguageModelChatResponse(
      _model: LmChatInformation,
      messages: readonly LmMessageLike[],
      _options: unknown,
      progress: vscode.Progress<vscode.LanguageModelTextPart>,
      token: vscode.CancellationToken,
    ): Promise<void> {
      // The engine answers one question: the last user message.
      const user = [...messages].reverse().find((m) => m.role === vscode.LanguageModelChatMessageRole.User) ?? messages.at(-1);
      const asked = user ? textOfMessage(user).trim() : "";
      if (!asked) throw new Error("Arbitrage: the request has no user message to answer.");
      const code = runner.code?.lmQuestion(asked, messages.map(textOfMessage).join("\n"));
      if (code?.refusal) {
        progress.report(new vscode.LanguageModelTextPart(code.refusal));
        return;
      }
      const question = code?.question ?? asked;
      await runner.run(
        question,
        question === asked ? {} : { promptStyle: "code" },
        (e) => {
          if (e.type === "step-decided") progress.report(new vscode.LanguageModelTextPart(e.step.text));
        },
        token,
        "lm",
      );
    },
    async provideTokenCount(_model: LmChatInformation, text: string | LmMessageLike, _token: vscode.CancellationToken): Promise<number> {
      // The embedded models are byte-level; for others this is a conservative estimate.
      return Buffer.byteLength(textOfMessage(text), "utf8");
    },
  };
}

/** Registers the provider where the API exists; returns undefined on older VS Code (e.g. 1.100). */
export function registerLanguageModelProvider(provider: ReturnType<typeof createLanguageModelProvider>): vscode.Disposable | undefined {
  const lm = vscode.lm as unknown as { registerLanguageModelChatProvider?: (vendor: string, provider: unknown) => vscode.Disposable };
  if (typeof lm?.registerLanguageModelChatProvider !== "function") return undefined;
  let registration: vscode.Disposable;
  try {
    registration = lm.registerLanguageModelChatProvider(LM_VENDOR, provider);
  } catch {
    return undefined;
  }
  // The workbench lists a provider's models only once something asked for them (VS Code 1.139
  // resolves a vendor on a model query, not on registration): without this query the chat view's
  // model picker shows only "Sign in to use Copilot" until the first chat request. The answer is
  // the static model information above; no engine process starts.
  void Promise.resolve(vscode.lm.selectChatModels({ vendor: LM_VENDOR })).catch(() => undefined);
  return registration;
}
