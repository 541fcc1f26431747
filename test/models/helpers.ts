// Helpers for the embedded-model tests: load the committed GGUF models through node-llama-cpp with
// the exactness settings (F32 weights, F32 KV cache, no flash attention, explicit threads).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "..", "..");
export const modelsDir = path.join(repoRoot, "models");
export const fixturesDir = path.join(repoRoot, "test", "fixtures", "models");

export type Role = "draft" | "target" | "router" | "prm";
export const THREADS = 1;
export const MAX_NEW_TOKENS = 160; // same cap as training/model.py greedy_generate

let llamaPromise: Promise<Llama> | undefined;
export function llama(): Promise<Llama> {
    llamaPromise ??= getLlama({ gpu: false, build: "never", maxThreads: THREADS });
    return llamaPromise;
}

export interface Loaded {
    model: LlamaModel;
    context: LlamaContext;
    sequence: LlamaContextSequence;
    dispose(): Promise<void>;
}

export async function load(role: Role): Promise<Loaded> {
    const l = await llama();
    const model = await l.loadModel({ modelPath: path.join(modelsDir, `${role}.gguf`) });
    const context = await model.createContext({
        contextSize: 256,
        threads: THREADS,
        flashAttention: false,
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
    });
    const sequence = context.getSequence();
    return {
        model, context, sequence,
        async dispose() {
            sequence.dispose();
            await context.dispose();
            await model.dispose();
        },
    };
}

export function bosTokens(m: LlamaModel, text: string): Token[] {
    const bos = m.tokens.bos;
    if (bos == null) throw new Error("model has no BOS token");
    return [bos, ...m.tokenize(text)];
}

/** Greedy completion of `prompt` (BOS prepended) until EOS or MAX_NEW_TOKENS; returns the generated text. */
export async function greedy(x: Loaded, prompt: string, maxNew = MAX_NEW_TOKENS): Promise<string> {
    await x.sequence.clearHistory();
    const out: Token[] = [];
    for await (const t of x.sequence.evaluate(bosTokens(x.model, prompt), { temperature: 0 })) {
        out.push(t);
        if (out.length >= maxNew) break;
    }
    return x.model.detokenize(out);
}

/** Classifier probability p = sigmoid(logit_Y - logit_N) at the last position of
 *  BOS + context + step + query (the router/prm input format). */
export async function classify(x: Loaded, context: string, step: string): Promise<number> {
    const meta = x.model.fileInfo.metadata as unknown as { arbitrage: { classifier: { query: string; positive: string; negative: string } } };
    const { query, positive, negative } = meta.arbitrage.classifier;
    const toks = bosTokens(x.model, context + step + query);
    const yes = x.model.tokenize(positive)[0];
    const no = x.model.tokenize(negative)[0];
    if (yes == null || no == null) throw new Error("classifier tokens missing");
    await x.sequence.clearHistory();
    const last = toks.pop();
    if (last == null) throw new Error("empty input");
    const res = await x.sequence.controlledEvaluate([
        ...toks,
        [last, { generateNext: { logits: { filter: { tokens: [yes, no] } } } }],
    ]);
    const logits = res[res.length - 1]?.next.logits;
    const ly = logits?.get(yes);
    const ln = logits?.get(no);
    if (ly == null || ln == null) throw new Error("no logits returned");
    return 1 / (1 + Math.exp(-(ly - ln)));
}

export function readJsonl<T>(file: string): T[] {
    return fs.readFileSync(path.join(fixturesDir, file), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as T);
}

/** The integer of the last "A: n" step of a solution text, or undefined. */
export function finalAnswer(text: string): number | undefined {
    const parts = text.split("\n\n");
    for (let i = parts.length - 1; i >= 0; i--) {
        const m = /^\s*A:\s*(-?\d+)\s*$/.exec(parts[i] ?? "");
        if (m?.[1] != null) return Number(m[1]);
    }
    return undefined;
}

/** ROC-AUC via the rank statistic (ties count 1/2). */
export function rocAuc(scores: number[], labels: number[]): number {
    let pos = 0;
    let neg = 0;
    let sum = 0;
    for (let i = 0; i < scores.length; i++) {
        if (labels[i] !== 1) continue;
        pos++;
        for (let j = 0; j < scores.length; j++) {
            if (labels[j] === 1) continue;
            const a = scores[i] ?? 0;
            const b = scores[j] ?? 0;
            sum += a > b ? 1 : a === b ? 0.5 : 0;
        }
    }
    for (const l of labels) if (l !== 1) neg++;
    return sum / (pos * neg);
}
