#!/usr/bin/env bash
# The project's one test command (README, `npm test`, .ci/run): system packages, build,
# typecheck, lint (eslint + prettier), then every suite on the real parts — the engine and models through the real
# node-llama-cpp, the CLI as built, and the extension in a real VS Code (code-server) with
# Chromium. Prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh || exit 1
# Real published models (SmolLM2-135M-Instruct, Gemma 3 270M; ~350 MB, cached outside the clone).
ARBITRAGE_REAL_MODELS=$(bash scripts/fetch-real-models.sh) || { echo "fetching the real models failed"; exit 1; }
export ARBITRAGE_REAL_MODELS
# llama-server for the remote-model tests, built once from node-llama-cpp's llama.cpp source (~25 min on 2 cores, cached).
ARBITRAGE_LLAMA_SERVER=$(bash scripts/build-llama-server.sh) || { echo "building llama-server failed"; exit 1; }
export ARBITRAGE_LLAMA_SERVER
npm run --silent build || { echo "build failed"; exit 1; }
npm run --silent typecheck || { echo "typecheck failed"; exit 1; }
npm run --silent lint || { echo "lint failed: eslint or prettier (npm run format fixes what they can)"; exit 1; }

passed=0
failed=0
log=$(mktemp)
suites=(test/engine/*.test.ts)
for dir in test/extension test/models test/real test/remote test/bench test/vsix; do
  compgen -G "$dir/*.test.ts" >/dev/null && suites+=("$dir"/*.test.ts)
done
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${suites[@]}" 2>&1 | tee "$log"
p=$(grep -E '^ℹ pass [0-9]+' "$log" | awk '{print $3}' | tail -1)
f=$(grep -E '^ℹ fail [0-9]+' "$log" | awk '{print $3}' | tail -1)
# A test cancelled because its suite's setup failed (a server that never came up) ran no check: a failure.
c=$(grep -E '^ℹ cancelled [0-9]+' "$log" | awk '{print $3}' | tail -1)
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-1} + ${c:-0}))

if npm run | grep -q "test:extension"; then
  npm run --silent test:extension 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | awk '{print $1}')))
    failed=$((failed + $(echo "$line" | awk '{print $3}')))
  fi
  [ "$status" -ne 0 ] && [ -z "$line" ] && failed=$((failed + 1))
fi
rm -f "$log"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
