/**
 * The npm registry "Arbitrage: Install CUDA Support" fetches from: the machine-scoped setting
 * `arbitrage.npmRegistry` when set, else what the user's own npm is configured with
 * (`npm config get registry`, when npm is on PATH). No registry address is built in: with neither,
 * the user is told to set the setting.
 */
import { execFile } from "node:child_process";
import { ArbitrageError } from "../engine/errors.js";
import { httpBaseUrlOf } from "../shared/http-base-url.js";

export const REGISTRY_SETTING = "arbitrage.npmRegistry";
/** Only the reserved example domain: no real registry address appears in this project. */
const EXAMPLE = "https://npm.example.com/";

function noRegistry(why: string): ArbitrageError {
  return new ArbitrageError(
    "download-failed",
    `No npm registry to download the CUDA binding from: ${why}. Set ${REGISTRY_SETTING} to your npm registry's base URL (what \`npm config get registry\` prints on a machine with npm), then run the command again.`,
  );
}

/** `npm config get registry` with the given environment; rejects when npm is missing or fails. */
function npmConfigRegistry(env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    // npm is a .cmd script on Windows: it only runs through a shell there.
    execFile("npm", ["config", "get", "registry"], { env, timeout: 15_000, shell: process.platform === "win32" }, (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim()),
    );
  });
}

/** The registry's base URL, ending with "/". `setting` is the value of arbitrage.npmRegistry. */
export async function npmRegistryUrl(setting: unknown, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromSetting = httpBaseUrlOf(REGISTRY_SETTING, setting, "your npm registry", EXAMPLE);
  if ("problem" in fromSetting) throw new ArbitrageError("download-failed", fromSetting.problem);
  if (fromSetting.url) return fromSetting.url;
  let printed: string;
  try {
    printed = await npmConfigRegistry(env);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw noRegistry(
      `${REGISTRY_SETTING} is empty and ${code === "ENOENT" ? "npm is not on PATH" : `\`npm config get registry\` failed (${(e as Error).message.trim()})`}`,
    );
  }
  const fromNpm = httpBaseUrlOf("npm's registry", printed, "your npm registry", EXAMPLE);
  if ("problem" in fromNpm || !fromNpm.url)
    throw noRegistry(`${REGISTRY_SETTING} is empty and npm reports no usable registry (${JSON.stringify(printed)})`);
  return fromNpm.url;
}
