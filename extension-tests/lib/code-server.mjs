// Helpers to run a real VS Code here: code-server (Node extension host) from .tools/, driven by
// Debian's Chromium through playwright-core. Two builds (extension-tests/lib/code-servers.json,
// installed by scripts/install-code-server.sh): "classic" 4.100.3 for the test launcher
// (@vscode/test-electron) and e2e.test.mjs, and "chat" 4.139.1 on its own Node 24 for e2e-chat.test.mjs.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const codeServerBin = process.env.ARBITRAGE_CODE_SERVER ?? join(root, ".tools", "code-server", "node_modules", ".bin", "code-server");
export const chromiumPath = process.env.ARBITRAGE_CHROMIUM ?? "/usr/bin/chromium";

const builds = JSON.parse(readFileSync(join(root, "extension-tests", "lib", "code-servers.json"), "utf8"));
/** The chat build: VS Code 1.139 (chat view, language-model providers) and the Node it runs on. */
export const chatCodeServer = {
  version: builds.chat.codeServer,
  bin: join(root, ".tools", builds.chat.dir, "node_modules", ".bin", "code-server"),
  nodeBinDir: join(root, ".tools", `node-${builds.chat.node}`, "bin"),
};

/**
 * Installs the extension at `dir` (default: the repository root) into `extensionsDir` the way an installed VSIX
 * sits there (a folder named publisher.name-version; here a link to the root). VS Code 1.139 web
 * honours the `extensionDevelopmentPath` payload only in builds with the smoke-test driver, which
 * code-server's command line does not accept (`--enable-smoke-test-driver`: "Unknown option").
 */
export function installUnpackedExtension(extensionsDir, dir = root) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  mkdirSync(extensionsDir, { recursive: true });
  symlinkSync(dir, join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`));
}

export function checkPrerequisites({ chat = false } = {}) {
  const problems = [];
  if (!chat && !existsSync(codeServerBin)) problems.push(`code-server not found at ${codeServerBin}: run \`npm run install:code-server\``);
  if (chat && !existsSync(chatCodeServer.bin))
    problems.push(`code-server ${chatCodeServer.version} not found at ${chatCodeServer.bin}: run \`bash scripts/install-code-server.sh chat\``);
  if (!existsSync(chromiumPath))
    problems.push(`Chromium not found at ${chromiumPath}: install it with \`apt-get install -y chromium\` (scripts/setup-system.sh)`);
  return problems;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A short temp folder (VS Code puts unix sockets under TMPDIR; paths max out at 107 chars). */
export function shortTemp(prefix = "arb") {
  return mkdtempSync(join("/tmp", `${prefix}-`));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts code-server detached in its own process group (`installed`: unpacked extensions copied into
 * its extensions folder). Returns { port, base, stop() };
 * stop() kills the whole group (extension hosts included). `build: chatCodeServer` starts the chat
 * build on its own Node (first on PATH: code-server's entry is `#!/usr/bin/env node` and its
 * extension host runs on the same Node).
 */
export async function startCodeServer({ userDataDir, extensionsDir, installed = [], env = {}, settings = {}, log = () => undefined, build } = {}) {
  const tmp = shortTemp("arbcs");
  userDataDir ??= join(tmp, "ud");
  extensionsDir ??= join(tmp, "ext");
  for (const d of [userDataDir, extensionsDir, join(tmp, "cfg"), join(tmp, "data"), join(tmp, "cache"), join(tmp, "t")])
    mkdirSync(d, { recursive: true });
  // Unpacked extensions to run as installed ones ({ id: "publisher.name-version", dir }): code-server's
  // remote side loads only one extensionDevelopmentPath, so a second extension goes here.
  for (const { id, dir } of installed) cpSync(dir, join(extensionsDir, id), { recursive: true });
  // Quiet, deterministic user settings for tests.
  const settingsDir = join(userDataDir, "User");
  mkdirSync(settingsDir, { recursive: true });
  if (!existsSync(join(settingsDir, "settings.json"))) {
    writeFileSync(
      join(settingsDir, "settings.json"),
      JSON.stringify(
        {
          "workbench.startupEditor": "none",
          "workbench.tips.enabled": false,
          "workbench.enableExperiments": false,
          "telemetry.telemetryLevel": "off",
          "extensions.autoCheckUpdates": false,
          "extensions.autoUpdate": false,
          "update.mode": "none",
          "security.workspace.trust.enabled": false,
          "chat.commandCenter.enabled": false,
          "workbench.secondarySideBar.defaultVisibility": "hidden",
          ...settings,
        },
        null,
        2,
      ),
    );
  }
  const port = await freePort();
  const args = [
    "--bind-addr",
    `127.0.0.1:${port}`,
    "--auth",
    "none",
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--ignore-last-opened",
    "--disable-getting-started-override",
    "--user-data-dir",
    userDataDir,
    "--extensions-dir",
    extensionsDir,
    ...(process.env.ARBITRAGE_CODE_SERVER_TRACE === "1" ? ["--log", "trace"] : []),
  ];
  const child = spawn(build?.bin ?? codeServerBin, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      EXTENSIONS_GALLERY: "{}",
      XDG_CONFIG_HOME: join(tmp, "cfg"),
      XDG_DATA_HOME: join(tmp, "data"),
      XDG_CACHE_HOME: join(tmp, "cache"),
      TMPDIR: join(tmp, "t"),
      ...(build ? { PATH: `${build.nodeBinDir}:${process.env.PATH ?? ""}` } : {}),
      ...env,
    },
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d) => {
    out += d;
    log(d);
  });
  child.stderr.setEncoding("utf8").on("data", (d) => {
    out += d;
    log(d);
  });
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  const base = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}):\n${out.slice(-3000)}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() - t0 > 90_000) throw new Error(`code-server did not become healthy in 90 s:\n${out.slice(-3000)}`);
    await sleep(250);
  }
  let stopped = false;
  return {
    port,
    base,
    userDataDir,
    extensionsDir,
    output: () => out,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* gone */
      }
      for (let i = 0; i < 20 && !exited; i++) await sleep(100);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Workbench URL that opens `folder` with an unpacked extension (and optionally its tests). */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [];
  if (extensionDevelopmentPath) payload.push(["extensionDevelopmentPath", remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(["extensionTestsPath", remote(extensionTestsPath)]);
  const q = new URLSearchParams();
  if (folder) q.set("folder", folder);
  if (payload.length) q.set("payload", JSON.stringify(payload));
  return `${server.base}/?${q.toString()}`;
}

export async function launchBrowser({ userDataDir } = {}) {
  const { chromium } = await import("playwright-core");
  const dir = userDataDir ?? shortTemp("arbchr");
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      if (!userDataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command from the palette, retrying while the extension is still registering it. */
export async function runFromPalette(page, title, { attempts = 20 } = {}) {
  for (let i = 0; i < attempts; i++) {
    await page.keyboard.press("Escape");
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input[type='text']");
    await input.waitFor({ state: "visible", timeout: 10_000 });
    await input.fill(`>${title}`);
    const exact = page
      .locator(`.quick-input-list .monaco-list-row[aria-label="${title}"], .quick-input-list .monaco-list-row[aria-label^="${title}, "]`)
      .first();
    try {
      await exact.waitFor({ state: "visible", timeout: 1500 });
      await exact.click();
      return;
    } catch {
      await page.keyboard.press("Escape");
      await sleep(1000);
    }
  }
  throw new Error(`command "${title}" never appeared in the command palette`);
}
