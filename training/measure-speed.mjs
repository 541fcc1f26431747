// Per-token generation cost of GGUF models in node-llama-cpp (CPU).
// Usage: node training/measure-speed.mjs [--threads 1,2] [--tokens 128] [--rounds 7] [--json-out f.json] base.gguf model.gguf...
// For each thread count (one getLlama per process run; run thread counts in separate processes if in
// doubt): loads every model, then in each round greedy-generates with sequence.evaluate (temperature 0)
// from 5 "Q: ..." prompts per model, models interleaved, and records ms per generated token (prompt
// prefill excluded; generation continues past EOS-free prompts up to --tokens or EOS). Reports per model
// the median and the best round, and the cost ratio of each model to the first one (median and best).
// The machine is shared: the best-round ratio is the least disturbed figure.
import path from "node:path";
import fs from "node:fs";
import { getLlama } from "node-llama-cpp";

const args = process.argv.slice(2);
let threadsList = [1];
let maxTokens = 128;
let rounds = 7;
let jsonOut;
const models = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--threads") threadsList = args[++i].split(",").map(Number);
  else if (args[i] === "--tokens") maxTokens = Number(args[++i]);
  else if (args[i] === "--rounds") rounds = Number(args[++i]);
  else if (args[i] === "--json-out") jsonOut = args[++i];
  else models.push(path.resolve(args[i]));
}
const prompts = ["Q: (12+7)*3-5\n\n", "Q: 40+(38-30)-37\n\n", "Q: 6*7+(61-53)\n\n", "Q: 90-2*(28+1)\n\n", "Q: 86+9-16\n\n"];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const report = { perModel: {}, costRatio: {}, date: new Date().toISOString(), rounds, note: "" };
for (const threads of threadsList) {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads });
  const loaded = [];
  for (const modelPath of models) {
    const model = await llama.loadModel({ modelPath });
    const ctx = await model.createContext({
      contextSize: 256,
      threads,
      flashAttention: false,
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
    });
    loaded.push({ name: path.basename(modelPath), model, ctx, perRound: [] });
  }
  for (let r = 0; r < rounds + 1; r++) {
    for (const x of loaded) {
      let tokens = 0;
      let ms = 0;
      for (const p of prompts) {
        const seq = x.ctx.getSequence();
        const input = [x.model.tokens.bos, ...x.model.tokenize(p)];
        await seq.evaluateWithoutGeneratingNewTokens(input.slice(0, -1));
        const t0 = performance.now();
        let n = 0;
        for await (const t of seq.evaluate(input.slice(-1), { temperature: 0 })) {
          void t;
          if (++n >= maxTokens) break;
        }
        ms += performance.now() - t0;
        tokens += n;
        seq.dispose();
      }
      if (r > 0) x.perRound.push(ms / tokens); // round 0 is warm-up
    }
  }
  const base = loaded[0];
  for (const x of loaded) {
    report.perModel[`${x.name} threads=${threads}`] = {
      msPerTokMedian: +median(x.perRound).toFixed(4),
      msPerTokBest: +Math.min(...x.perRound).toFixed(4),
      tokPerSecMedian: Math.round(1000 / median(x.perRound)),
    };
    if (x !== base) {
      report.costRatio[`${x.name}/${base.name} threads=${threads}`] = {
        median: +(median(x.perRound) / median(base.perRound)).toFixed(2),
        best: +(Math.min(...x.perRound) / Math.min(...base.perRound)).toFixed(2),
      };
    }
  }
  for (const x of loaded) {
    await x.ctx.dispose();
    await x.model.dispose();
  }
  await llama.dispose();
}
console.log(JSON.stringify(report, null, 1));
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 1) + "\n");
