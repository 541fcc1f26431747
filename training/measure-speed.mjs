// Per-token generation cost of GGUF models in node-llama-cpp (CPU).
// Usage: node training/measure-speed.mjs [--threads 1,2] [--tokens 128] [--reps 5] [--json-out f.json] base.gguf model.gguf...
// For each model and thread count: greedy-generates from "Q: ..." prompts token by token with
// sequence.evaluate (temperature 0) and reports generated tokens per second (prompt prefill excluded)
// and the per-token cost ratio of each model to the first one.
import path from "node:path";
import { getLlama } from "node-llama-cpp";

const args = process.argv.slice(2);
let threadsList = [1, 2];
let maxTokens = 128;
let reps = 5;
let jsonOut;
const models = [];
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--threads") threadsList = args[++i].split(",").map(Number);
    else if (args[i] === "--tokens") maxTokens = Number(args[++i]);
    else if (args[i] === "--reps") reps = Number(args[++i]);
    else if (args[i] === "--json-out") jsonOut = args[++i];
    else models.push(path.resolve(args[i]));
}
const prompts = ["Q: (12+7)*3-5\n\n", "Q: 40+(38+70)-37\n\n", "Q: 16*7+(61+53)-18\n\n", "Q: 90*3-(28+(38+1))\n\n", "Q: 86+96-16\n\n"];

const results = {};
for (const threads of threadsList) {
    const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads });
    for (const modelPath of models) {
        const model = await llama.loadModel({ modelPath });
        const ctx = await model.createContext({
            contextSize: 256, threads, flashAttention: false,
            experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
        });
        let tokens = 0;
        let ms = 0;
        for (let r = 0; r < reps + 1; r++) {
            for (const p of prompts) {
                const seq = ctx.getSequence();
                const input = model.tokenize(p);
                input.unshift(model.tokens.bos);
                await seq.evaluateWithoutGeneratingNewTokens(input.slice(0, -1));
                const t0 = performance.now();
                let n = 0;
                for await (const t of seq.evaluate(input.slice(-1), { temperature: 0 })) {
                    void t;
                    if (++n >= maxTokens) break;
                }
                const dt = performance.now() - t0;
                if (r > 0) { tokens += n; ms += dt; } // first round is warm-up
                seq.dispose();
            }
        }
        const tps = (tokens / ms) * 1000;
        results[`${path.basename(modelPath)} threads=${threads}`] = { tokens, ms: Math.round(ms), tokPerSec: Math.round(tps), msPerTok: +(ms / tokens).toFixed(4) };
        await ctx.dispose();
        await model.dispose();
    }
    await llama.dispose();
}
// cost ratio of every model to the first one, per thread count
const ratios = {};
for (const threads of threadsList) {
    const base = results[`${path.basename(models[0])} threads=${threads}`];
    for (const m of models.slice(1)) {
        const r = results[`${path.basename(m)} threads=${threads}`];
        ratios[`${path.basename(m)}/${path.basename(models[0])} threads=${threads}`] = +(r.msPerTok / base.msPerTok).toFixed(2);
    }
}
const report = { perModel: results, costRatio: ratios, date: new Date().toISOString() };
console.log(JSON.stringify(report, null, 1));
if (jsonOut) (await import("node:fs")).writeFileSync(jsonOut, JSON.stringify(report, null, 1) + "\n");
