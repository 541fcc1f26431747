#!/usr/bin/env node
// The npm registry reachable here lacks the macOS/Windows/riscv64 builds of
// @node-llama-cpp/* 3.22.1, so `npm install` leaves them out of package-lock.json, and then
// `npm ci` refuses the lock ("Missing: @node-llama-cpp/mac-x64@ from lock file") on every machine.
// This adds lock entries for those optional, platform-gated packages (os/cpu as published for
// 3.21.1; no integrity, so a machine that does install them verifies nothing it could not have
// verified before). npm skips them on other platforms without fetching. Idempotent; run it after
// any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const lockPath = join(root, "package-lock.json");
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const PLATFORM = {
  "linux-riscv64": { os: ["linux"], cpu: ["riscv64"], libc: ["glibc"] },
  "mac-arm64-metal": { os: ["darwin"], cpu: ["arm64", "x64"] },
  "mac-x64": { os: ["darwin"], cpu: ["x64"] },
  "win-arm64": { os: ["win32"], cpu: ["arm64", "x64"] },
  "win-x64": { os: ["win32"], cpu: ["x64"] },
  "win-x64-cuda": { os: ["win32"], cpu: ["x64"] },
  "win-x64-cuda-ext": { os: ["win32"], cpu: ["x64"] },
  "win-x64-vulkan": { os: ["win32"], cpu: ["x64"] },
};
const nlc = lock.packages["node_modules/node-llama-cpp"];
if (!nlc) throw new Error("node-llama-cpp is not in package-lock.json");
let added = 0;
for (const [name, version] of Object.entries(nlc.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const short = name.replace("@node-llama-cpp/", "");
  const plat = PLATFORM[short];
  if (!plat) throw new Error(`unknown platform package ${name}: add its os/cpu to ${fileURLToPath(import.meta.url)}`);
  lock.packages[key] = { version, ...plat, license: "MIT", optional: true, engines: { node: ">=20.0.0" } };
  added++;
}
// Keep npm's ordering (sorted keys after the root entry).
const [rootKey, ...rest] = Object.keys(lock.packages);
lock.packages = Object.fromEntries([
  [rootKey, lock.packages[rootKey]],
  ...rest.sort((a, b) => a.localeCompare(b, "en")).map((k) => [k, lock.packages[k]]),
]);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock: added ${added} platform package entr${added === 1 ? "y" : "ies"}`);
