import { ArbitrageEngine, type ReasonResult } from "../engine/index.js";
import { ArithmeticChecker } from "../engine/task/arithmetic.js";
import { modelConfigFromFlags } from "./flags.js";
import { paint, printStep } from "./reason.js";

/**
 * The offline demo: a few questions of the embedded task answered with Arbitrage (steps printed
 * as they are decided), then the same questions with the target alone, side by side.
 */
const DEMO_QUESTIONS = ["(12+7)*3-5", "48-19+7*6", "6*(14-9)+53", "90-(17+26)*2"];

function correct(q: string, r: ReasonResult): boolean {
  return r.answer !== null && Number(r.answer) === ArithmeticChecker.fromQuestion(q)?.trueValue;
}

export async function runDemo(o: Record<string, unknown>): Promise<void> {
  const engine = await ArbitrageEngine.create(modelConfigFromFlags(o));
  try {
    const threshold = Number(o.threshold);
    const totals = { arbitrage: { ms: 0, ok: 0 }, target: { ms: 0, ok: 0 } };
    // One warm-up run of each path it times, so the first timed question pays for no lazy allocation (the router's included).
    await engine.reason(DEMO_QUESTIONS[0]!, { policy: "target" });
    await engine.reason(DEMO_QUESTIONS[0]!, { policy: "arbitrage", threshold });
    for (const q of DEMO_QUESTIONS) {
      process.stdout.write(`\n${paint("bold", `Q: ${q}`)}\n`);
      const routed = await engine.reason(q, { policy: "arbitrage", threshold }, { onEvent: (e) => e.type === "step-decided" && printStep(e) });
      const alone = await engine.reason(q, { policy: "target" });
      totals.arbitrage.ms += routed.stats.wallMs;
      totals.target.ms += alone.stats.wallMs;
      totals.arbitrage.ok += correct(q, routed) ? 1 : 0;
      totals.target.ok += correct(q, alone) ? 1 : 0;
      const share = Math.round((100 * routed.stats.stepsByModel.draft) / Math.max(1, routed.stats.steps));
      process.stdout.write(
        paint(
          "dim",
          `   arbitrage: answer ${routed.answer} in ${routed.stats.wallMs.toFixed(1)} ms (${share}% of steps by the draft) · target alone: answer ${alone.answer} in ${alone.stats.wallMs.toFixed(1)} ms\n`,
        ),
      );
    }
    const n = DEMO_QUESTIONS.length;
    process.stdout.write(
      `\n${paint("bold", "Arbitrage")} ${totals.arbitrage.ok}/${n} correct, ${totals.arbitrage.ms.toFixed(0)} ms · ` +
        `${paint("bold", "target alone")} ${totals.target.ok}/${n} correct, ${totals.target.ms.toFixed(0)} ms · ` +
        `${paint("bold", `${(totals.target.ms / totals.arbitrage.ms).toFixed(2)}x`)} faster (threshold ${threshold}; run \`npx arbitrage bench\` for the full frontier)\n`,
    );
  } finally {
    await engine.dispose();
  }
}
