import { InvalidArgumentError, Option, type Command } from "commander";
import { resolve } from "node:path";
import { DEFAULT_THREADS_RULE, GPU_CHOICES, MODEL_DEFAULTS, REMOTE_APIS } from "../engine/index.js";
import { defaultCalibrationDir } from "../engine/calibration/calibration-file.js";

/**
 * Flags shared by `reason` and `bench`: which models to load and how. Every default shown or
 * applied here is the engine's (src/engine/defaults.ts); flags left unset take it there.
 */

export function number(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number (got ${JSON.stringify(value)}).`);
    return n;
  };
}

export function modelFlags(cmd: Command): Command {
  return cmd
    .option("--draft <file>", "draft GGUF model (default: the embedded demo draft)")
    .option("--target <file>", "target GGUF model (default: the embedded demo target)")
    .option("--router <router>", 'router: "embedded", "confidence", "random" (the control) or a router GGUF file', MODEL_DEFAULTS.router)
    .option(
      "--scorer <scorer>",
      'step scorer for rsd/oracle: "embedded" (learned PRM), "exact" (arithmetic checker) or a PRM GGUF file',
      MODEL_DEFAULTS.scorer,
    )
    .addOption(new Option("--gpu <gpu>", "GPU offload").choices(GPU_CHOICES as string[]).default(MODEL_DEFAULTS.gpu))
    .option("--gpu-layers <n>", `layers to offload to the GPU (default: ${MODEL_DEFAULTS.gpuLayers})`, number("--gpu-layers"))
    .option("--threads <n>", `CPU threads (always explicit; default: ${DEFAULT_THREADS_RULE})`, number("--threads"))
    .option("--context-size <n>", `context size in tokens (default: ${MODEL_DEFAULTS.contextSize})`, number("--context-size"))
    .option(
      "--calibrations <dir>",
      'folder of router calibrations (arbitrage calibrate); "none": the confidence router\'s default weights (default: $ARBITRAGE_CALIBRATIONS or ~/.cache/arbitrage/calibrations)',
    )
    .option("--target-url <url>", "run the target on this server (llama-server, vLLM, SGLang; --target still gives its tokenizer and prompt format)")
    .option("--target-model <name>", "the target's model name on that server (default: the only one it serves)")
    .option("--draft-url <url>", "run the draft on this server")
    .option("--draft-model <name>", "the draft's model name on that server")
    .option("--remote-timeout <ms>", "a server silent this long ends the request (default 60000)", number("--remote-timeout"))
    .addOption(
      new Option(
        "--remote-api <api>",
        'server API: "auto" (llama-server\'s /completion when it is one), "openai" (/v1/completions) or "llama.cpp"',
      ).choices(REMOTE_APIS as string[]),
    );
}

/** The calibration folder the engine looks in, or undefined for none (the default weights). */
export function calibrationDirFromFlags(o: Record<string, unknown>): string | undefined {
  if (o.calibrations === "none") return undefined;
  return typeof o.calibrations === "string" ? resolve(o.calibrations) : defaultCalibrationDir();
}

export function modelConfigFromFlags(o: Record<string, unknown>): Record<string, unknown> {
  const file = (v: unknown) => (typeof v === "string" && v !== "embedded" ? resolve(v) : v);
  const judge = (v: unknown, named: string[]) => (typeof v === "string" && !named.includes(v) ? { path: resolve(v) } : v);
  const config: Record<string, unknown> = {
    router: judge(o.router, ["embedded", "confidence", "random"]),
    scorer: judge(o.scorer, ["embedded", "exact"]),
    gpu: o.gpu,
  };
  if (o.draft !== undefined) config.draft = file(o.draft);
  if (o.target !== undefined) config.target = file(o.target);
  if (o.gpuLayers !== undefined) config.gpuLayers = o.gpuLayers;
  if (o.threads !== undefined) config.threads = o.threads;
  if (o.contextSize !== undefined) config.contextSize = o.contextSize;
  // API keys are read from the environment by the engine (ARBITRAGE_API_KEY): never a flag, so never in shell history or ps.
  const remote: Record<string, unknown> = {};
  for (const role of ["draft", "target"] as const) {
    const url = o[`${role}Url`];
    if (url === undefined) {
      if (o[`${role}Model`] !== undefined) throw new InvalidArgumentError(`--${role}-model names the model on a server: give --${role}-url too.`);
      continue;
    }
    remote[role] = {
      url,
      ...(o[`${role}Model`] !== undefined ? { model: o[`${role}Model`] } : {}),
      ...(o.remoteTimeout !== undefined ? { timeoutMs: o.remoteTimeout } : {}),
      ...(o.remoteApi !== undefined ? { api: o.remoteApi } : {}),
    };
  }
  if (Object.keys(remote).length > 0) config.remote = remote;
  return config;
}
