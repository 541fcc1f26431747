import { Command } from "commander";
import { POLICY_SETTINGS, PROMPT_STYLES, REASON_DEFAULTS, isArbitrageError } from "../engine/index.js";
import { modelFlags, number } from "./flags.js";
import { runReason } from "./reason.js";

/**
 * `arbitrage` — the engine outside VS Code. Argument parsing is commander's; every value is
 * then validated by the engine's own option checks, so the CLI, the engine server and the
 * VS Code settings reject the same inputs with the same messages.
 */

const program = new Command()
  .name("arbitrage")
  .description("Step-level advantage-aware speculation with a draft and a target GGUF model (arXiv 2512.05033).")
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(`arbitrage: ${text.replace(/^error: /, "error: ")}`) });

modelFlags(program.command("reason"))
  .description("answer a question step by step, routing each step between the draft and the target")
  .argument("<question>", 'the question, e.g. "(12+7)*3-5" for the embedded demo models')
  .option(
    "--policy <policy>",
    `one of: ${POLICY_SETTINGS.join(", ")} (auto: the method this pair runs fastest on this machine, measured; never slower than the target alone by its prediction)`,
    REASON_DEFAULTS.policy,
  )
  .option("--threshold <t>", "routing threshold in [0, 1]", String(REASON_DEFAULTS.threshold))
  .option("--max-steps <n>", `step cap (default: ${REASON_DEFAULTS.maxSteps})`, number("--max-steps"))
  .option("--max-tokens-per-step <n>", `token cap per step (default: ${REASON_DEFAULTS.maxTokensPerStep})`, number("--max-tokens-per-step"))
  .option("--temperature <t>", `0 = greedy (default: ${REASON_DEFAULTS.temperature})`, number("--temperature"))
  .option("--style <style>", `prompt style for instruct models: ${PROMPT_STYLES.join(", ")} (default: ${REASON_DEFAULTS.promptStyle})`)
  .option("--no-prefix-reuse", "do not let the target keep the agreeing prefix of a rejected draft step")
  .option(
    "--token-spec",
    "the target writes its steps with token-level speculative decoding (the target's own text; on quantized models up to near-ties; --policy speculative always does)",
  )
  .option(
    "--draft-tokens <n>",
    `draft tokens proposed per round of token-level speculation (default: ${REASON_DEFAULTS.draftTokens})`,
    number("--draft-tokens"),
  )
  .option("--json", "print exactly one JSON object with the steps, answer and stats")
  .action(async (question: string, o: Record<string, unknown>) => {
    await runReason(question, o);
  });

modelFlags(program.command("demo"))
  .description("the offline demo: embedded-task questions with Arbitrage, side by side with the target alone")
  .option("--threshold <t>", "routing threshold in [0, 1]", String(REASON_DEFAULTS.threshold))
  .action(async (o: Record<string, unknown>) => {
    const { runDemo } = await import("./demo.js");
    await runDemo(o);
  });

modelFlags(program.command("soak"))
  .description("many sequential requests in one engine: memory, file descriptors and output stability")
  .option("--requests <n>", "requests in all", number("--requests"), 500)
  .option("--warmup <n>", "requests before the baseline sample (JIT and allocator warm-up)", number("--warmup"), 100)
  .option("--policy <policy>", "policy of every request", REASON_DEFAULTS.policy)
  .option("--threshold <t>", "routing threshold in [0, 1]", String(REASON_DEFAULTS.threshold))
  .option("--json", "print the report as one JSON object")
  .action(async (o: Record<string, unknown>) => {
    const { runSoak } = await import("./soak.js");
    await runSoak(o);
  });

modelFlags(program.command("calibrate"))
  .description("fit the confidence router to this draft/target pair on problems with known answers (oracle rollouts)")
  .option("--problems <file>", 'JSONL, one {"question", "answer"} per line, e.g. bench/problems/calibration-embedded.jsonl')
  .option("--budget-minutes <n>", "stop new rollouts after this long and fit what is done", number("--budget-minutes"))
  .option("--style <style>", "prompt style for instruct models: math, code or plain")
  .option("--max-steps <n>", "step cap of each rollout", number("--max-steps"))
  .option("--max-tokens-per-step <n>", "token cap per step", number("--max-tokens-per-step"))
  .option("--json", "print the result as one JSON object")
  .addHelpText(
    "after",
    '\n--scorer picks the labels: "exact" (embedded task checker), "outcome" (each step continued by the target to a final answer,\nchecked against the known one), a PRM GGUF file, or by default exact on the embedded pair and outcome on any other.\nInterrupted runs resume: run the same command again.',
  )
  .action(async (o: Record<string, unknown>) => {
    const { runCalibrate } = await import("./calibrate.js");
    await runCalibrate(o);
  });

program
  .command("bench")
  .description("accuracy–latency frontier of every policy on a problem set (see README)")
  .allowUnknownOption(true)
  .helpOption(false)
  .argument("[args...]")
  .action(async () => {
    const { runBenchCli } = await import("./bench.js");
    await runBenchCli(process.argv.slice(process.argv.indexOf("bench") + 1));
  });

try {
  await program.parseAsync(process.argv);
  process.exit(process.exitCode ?? 0);
} catch (e) {
  const message = isArbitrageError(e) ? e.message : e instanceof Error ? e.message : String(e);
  // A request that failed part-way (a remote server's error) still gives the answer it had committed.
  if (isArbitrageError(e) && e.partial) process.stdout.write(`partial answer (${e.partial.steps} steps, kept):\n${e.partial.text}\n`);
  process.stderr.write(`arbitrage: error: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  process.exit(1);
}
