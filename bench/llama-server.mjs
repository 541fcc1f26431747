// llama-server for the bench scripts that compare the engine with llama.cpp's own server
// (peer-llama-spec.mjs, decode-parity.mts): which binary, and one server on a free loopback port.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

/** `explicit`, else $ARBITRAGE_LLAMA_SERVER, else what scripts/build-llama-server.sh prints (it builds once, then reuses the cached binary). */
export function llamaServerBinary(explicit) {
  if (explicit) return resolve(explicit);
  if (process.env.ARBITRAGE_LLAMA_SERVER) return process.env.ARBITRAGE_LLAMA_SERVER;
  const built = spawnSync("bash", [join(ROOT, "scripts/build-llama-server.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (built.status !== 0) throw new Error("scripts/build-llama-server.sh failed (see above).");
  return built.stdout.trim().split("\n").pop();
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Starts `binary` with `args` (everything but the host and port) on 127.0.0.1 and waits for its
 * /health; throws with the end of its log when it exits or does not come up in `timeoutMs`.
 */
export async function startLlamaServer(binary, args, timeoutMs = 120_000) {
  const port = await freePort();
  const child = spawn(binary, [...args, "--host", "127.0.0.1", "--port", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => (log = (log + d).slice(-8000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${log}`);
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`llama-server did not become healthy in ${timeoutMs / 1000} s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  return { url, stop };
}
