#!/usr/bin/env bash
# Everything the VS Code extension's tests need, from a clean clone after `npm ci`:
#   1. code-server 4.100.3, and 4.139.1 on its own Node 24, into .tools/ (reused when present;
#      scripts/install-code-server.sh)
#   2. the bundles (esbuild.mjs: extension, engine server, webview, integration tests)
#   3. engine-server protocol tests (raw JSON-RPC over IPC, plain Node) and webview renderer
#      tests (media/render.ts in headless Chromium)
#   4. the real pair's run measured on this machine with the CLI (extension-tests/lib/real-pair-run.mjs)
#      and integration tests inside the real extension host (@vscode/test-electron runTests ->
#      extension-tests/bin/code-launcher.mjs -> code-server + headless Chromium)
#   5. the end-to-end Chromium UI tests, embedded and real pair (screenshots in .test-artifacts/)
#   6. the chat view end-to-end test on code-server 4.139.1 (@arbitrage and the model picker), and
#      code requests on the real code pair there (panel Apply, the lightbulb, inline chat as it is)
# Prints `N passed, N failed` as its last line; exits non-zero when anything failed.
# System packages (Debian): chromium, libkrb5-dev, ripgrep — see scripts/setup-system.sh.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ART="$ROOT/.test-artifacts"
mkdir -p "$ART"
PASSED=0
FAILED=0
t_start=$(date +%s)

finish() {
  echo "extension tests took $(( $(date +%s) - t_start )) s"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}
fail_setup() {
  echo "test:extension: $*" >&2
  FAILED=$((FAILED + 1))
  finish
}

[ -d node_modules/vscode-languageclient ] || fail_setup "node_modules missing: run \`npm ci\` first"
CHROMIUM="${ARBITRAGE_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || fail_setup "Chromium not found at $CHROMIUM: install it with \`sudo apt-get install -y chromium\` (scripts/setup-system.sh)"
# ARBITRAGE_TEST_SETTINGS / ARBITRAGE_E2E_SETTINGS / ARBITRAGE_TEST_CONFIG (JSON) point the tests at
# other model files while debugging; by default the embedded demo models must be present.
if [ -z "${ARBITRAGE_TEST_SETTINGS:-}" ]; then
  for m in draft target router; do
    [ -f "models/$m.gguf" ] || fail_setup "models/$m.gguf missing: the embedded demo models are needed for the extension tests"
  done
fi

echo "== code-server"
bash scripts/install-code-server.sh || fail_setup "installing code-server failed (see above)"
t0=$(date +%s)
bash scripts/install-code-server.sh chat || fail_setup "installing code-server for the chat tests failed (see above)"
echo "code-server (chat build) ready in $(( $(date +%s) - t0 )) s"

echo "== build"
node esbuild.mjs --only=extension,server,webview,tests || fail_setup "build failed"

count_json() { # file -> "passed failed"
  node -e 'try{const r=require(process.argv[1]);console.log(r.passed+" "+r.failed)}catch{console.log("0 1")}' "$1"
}

run_tap() { # label tap-file test-files... — runs node:test files, counts their TAP results
  local label="$1" tap="$ART/$2"; shift 2
  local t0 rc pass fail
  t0=$(date +%s)
  node --test --test-concurrency=1 --test-reporter=tap "$@" > "$tap" 2>&1
  rc=$?
  pass=$(grep -E '^# pass ' "$tap" | awk '{print $3}' | tail -1)
  fail=$(grep -E '^# fail ' "$tap" | awk '{print $3}' | tail -1)
  grep -E '^(not )?ok ' "$tap" | sed 's/^/  /'
  pass=${pass:-0}; fail=${fail:-0}
  # A failing test's TAP diagnostics (its error message, expected/actual, stack) — the only place
  # CI's log says why it failed.
  [ "$fail" -gt 0 ] && awk '/^not ok /{on=1; n=0} /^ok |^# (pass|fail|tests) /{on=0} on && n++ < 40' "$tap" | sed 's/^/    /'
  if [ $rc -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; tail -30 "$tap"; fi
  echo "$label: $pass passing, $fail failing ($(( $(date +%s) - t0 )) s)"
  PASSED=$((PASSED + pass)); FAILED=$((FAILED + fail))
}

echo "== engine-server protocol tests + webview renderer tests"
run_tap "protocol + renderer" protocol.tap extension-tests/server-protocol.test.mjs extension-tests/render.test.mjs

echo "== the real pair's run on this machine (extension-tests/lib/real-pair-run.mjs, for the real-pair tests)"
# Real models' text and router scores depend on the CPU's kernels, so the threshold where both
# models write, and the steps and answer the tests expect, are measured here with the CLI.
rm -f "$ART/real-pair-run.json"
if ! node extension-tests/lib/real-pair-run.mjs; then
  echo "measuring the real pair's run failed: the real-pair tests below fail for it"
  FAILED=$((FAILED + 1))
fi

echo "== integration tests in the extension host"
rm -f "$ART/integration-results.json"
t0=$(date +%s)
node extension-tests/run-integration.mjs
i_rc=$?
read -r i_pass i_fail < <(count_json "$ART/integration-results.json")
if [ $i_rc -ne 0 ] && [ "$i_fail" -eq 0 ]; then i_fail=1; fi
echo "integration: $i_pass passing, $i_fail failing ($(( $(date +%s) - t0 )) s)"
PASSED=$((PASSED + i_pass)); FAILED=$((FAILED + i_fail))

echo "== end-to-end UI tests (Chromium + code-server): embedded pair, then the real published pair"
# ARBITRAGE_E2E_REAL=0 leaves out the real pair while debugging.
e2e_files=(extension-tests/e2e.test.mjs)
[ "${ARBITRAGE_E2E_REAL:-1}" != "0" ] && e2e_files+=(extension-tests/e2e-real.test.mjs)
run_tap "e2e" e2e.tap "${e2e_files[@]}"

echo "== chat view end-to-end test (Chromium + code-server 4.139.1), and code requests on the real code pair"
chat_files=(extension-tests/e2e-chat.test.mjs)
[ "${ARBITRAGE_E2E_REAL:-1}" != "0" ] && chat_files+=(extension-tests/e2e-code.test.mjs)
run_tap "chat e2e" e2e-chat.tap "${chat_files[@]}"

finish
