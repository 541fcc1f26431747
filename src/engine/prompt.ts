import { resolveChatWrapper, type ChatWrapper, type LlamaModel, type Token } from "node-llama-cpp";
import { ArbitrageError } from "./errors.js";
import type { ModelFileCheck } from "./model-files.js";
import { extractExpression, parseExpression } from "./task/arithmetic.js";
import { outOfFamilyWarning } from "./task/family.js";
import type { PromptStyle } from "./types.js";

/**
 * Builds each model's prompt in that model's own format. The draft and target may use different
 * chat templates; only the generated text is shared between them, so every model gets its own
 * prompt tokens:
 * - the embedded task models (GGUF metadata `arbitrage.role`): raw `Q: <expr>\n\n`;
 * - instruct models with a chat template: node-llama-cpp's chat wrapper for that template;
 * - other base models: a raw completion prompt.
 */

const STYLE_INSTRUCTIONS: Record<PromptStyle, string> = {
  math:
    "Solve the problem step by step. Write each step as a short paragraph and separate steps with a blank line. " +
    "Use LaTeX for math. End with the final answer in \\boxed{}.",
  code:
    "Reason about the programming task step by step. Separate steps with a blank line. " +
    "Put code in fenced code blocks. End with the final code or answer.",
  plain: "Answer step by step, separating steps with a blank line.",
};

/**
 * One worked example per style for base models, which follow a pattern rather than an
 * instruction: without it Gemma 3 270M (base) answered "Tom has 3 apples…" with an empty answer,
 * going straight to a new "Question:".
 */
const RAW_EXAMPLES: Record<PromptStyle, string> = {
  math: "Question: What is 2+3?\n\nAnswer:\n\n2 + 3 = 5\n\nThe answer is 5.\n\n",
  code:
    "Question: How do I reverse a list in Python?\n\nAnswer:\n\nSlicing with a step of -1 returns a reversed copy; list.reverse() reverses in place.\n\n" +
    "The answer is `items[::-1]`.\n\n",
  plain: "Question: What is the capital of France?\n\nAnswer:\n\nFrance is a country in Europe.\n\nThe answer is Paris.\n\n",
};

export interface BuiltPrompt {
  text: string;
  tokens: Token[];
  /**
   * A step that starts with one of these ends the answer and is not kept. A base model on a raw
   * completion prompt has no end-of-turn token: after answering it goes on to invent the next
   * "Question:" (measured on Gemma 3 270M), which is not part of the answer.
   */
  endOfAnswerPrefixes: string[];
}

/** The raw completion prompt's question label; a step that starts with it is a new question, not the answer. */
const RAW_QUESTION_LABEL = "Question:";

export function isEmbeddedTaskModel(check: ModelFileCheck): boolean {
  return check.arbitrage.role !== undefined;
}

/** The question as the embedded task models read it, or an error naming what they accept. */
export function embeddedTaskQuestion(question: string): string {
  const expr = extractExpression(question);
  if (!expr) {
    throw new ArbitrageError(
      "invalid-question",
      `The embedded demo models only solve integer arithmetic with + - * and parentheses, e.g. "(12+7)*3-5" (got ${JSON.stringify(question.slice(0, 80))}). For other questions, set arbitrage.draftModel and arbitrage.targetModel to real GGUF models.`,
    );
  }
  return expr;
}

/**
 * Warnings for a question the embedded models would answer outside their training family
 * (task/family.ts), when either generating model is one of them; empty otherwise.
 */
export function embeddedTaskWarnings(question: string, checks: readonly ModelFileCheck[]): string[] {
  if (!checks.some(isEmbeddedTaskModel)) return [];
  const expr = parseExpression(embeddedTaskQuestion(question));
  const warning = expr ? outOfFamilyWarning(expr) : null;
  return warning === null ? [] : [warning];
}

export function withBos(model: LlamaModel, tokens: Token[]): Token[] {
  const bos = model.tokens.bos;
  return model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
}

/**
 * Resolving a model's chat wrapper parses its Jinja template and probes it (measured: 290–440 ms
 * for SmolLM2's on every call), so each model's wrapper is resolved once.
 */
const chatWrappers = new WeakMap<LlamaModel, ChatWrapper>();

function chatWrapperOf(model: LlamaModel): ChatWrapper {
  let wrapper = chatWrappers.get(model);
  if (!wrapper) {
    wrapper = resolveChatWrapper(model);
    chatWrappers.set(model, wrapper);
  }
  return wrapper;
}

export function buildPrompt(model: LlamaModel, check: ModelFileCheck, question: string, style: PromptStyle): BuiltPrompt {
  if (isEmbeddedTaskModel(check)) {
    const text = `Q: ${embeddedTaskQuestion(question)}\n\n`;
    return { text, tokens: withBos(model, model.tokenize(text, false, "trimLeadingSpace")), endOfAnswerPrefixes: [] };
  }
  const template = (check.info.metadata as { tokenizer?: { chat_template?: string } }).tokenizer?.chat_template;
  if (template) {
    const wrapper = chatWrapperOf(model);
    const state = wrapper.generateContextState({
      chatHistory: [
        { type: "system", text: STYLE_INSTRUCTIONS[style] },
        { type: "user", text: question },
        { type: "model", response: [] },
      ],
    });
    const tokens = state.contextText.tokenize(model.tokenizer);
    return { text: model.detokenize(tokens, true), tokens, endOfAnswerPrefixes: [] };
  }
  const text = `${STYLE_INSTRUCTIONS[style]}\n\n${RAW_EXAMPLES[style]}${RAW_QUESTION_LABEL} ${question}\n\nAnswer:\n\n`;
  return { text, tokens: withBos(model, model.tokenize(text, false, "trimLeadingSpace")), endOfAnswerPrefixes: [RAW_QUESTION_LABEL] };
}
