#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the source that the node-llama-cpp package ships (its
# llama/gitRelease.bundle; llama/llama.cpp.info.json names the release), so the remote-model tests
# run against the same llama.cpp the local engine uses, with no network: CPU-only, Release, only
# the llama-server target, no curl. The build is cached outside the clone and reused; a rerun with
# the binary in place does nothing. Prints the binary's path on stdout; everything else goes to stderr.
#   ARBITRAGE_LLAMA_SERVER_CACHE  cache folder (default: ~/.cache/arbitrage/llama-server)
#   ARBITRAGE_BUILD_JOBS          parallel compile jobs (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."
llama=node_modules/node-llama-cpp/llama
bundle=$llama/gitRelease.bundle
[ -f "$bundle" ] || { echo "build-llama-server: $bundle is missing (run npm ci first)" >&2; exit 1; }
release=$(node -e 'console.log(require(process.argv[1]).tag)' "$PWD/$llama/llama.cpp.info.json")
commit=$(git bundle list-heads "$bundle" | awk '$2=="HEAD"{print $1}')
root=${ARBITRAGE_LLAMA_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/arbitrage/llama-server}/$release
bin=$root/build/bin/llama-server
stamp=$root/built-from
# No AMX kernels: on a Xeon that advertises AMX (seen on this project's machines, 2026-12-07) the
# native build's AMX matmul took a general-protection fault at `ldtilecfg` on the first Q4_K_M
# batch (Gemma 3 270M), although the kernel granted the tile state, so llama-server died while
# loading; node-llama-cpp's prebuilt kernels, which the local engine uses, ran the same model there.
# GCC keeps an explicit -mno-* over the -march=native that GGML_NATIVE adds.
cpu_flags=""
for flag in -mno-amx-tile -mno-amx-int8 -mno-amx-bf16; do
  echo 'int main(){}' | c++ "$flag" -x c++ -o /dev/null - 2>/dev/null && cpu_flags="$cpu_flags $flag"
done
cpu_flags=${cpu_flags# }
build_id="$commit ${cpu_flags:-default}"

if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$build_id" ]; then echo "$bin"; exit 0; fi
for tool in cmake make c++ git; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-llama-server: $tool is missing (bash scripts/setup-system.sh installs it)" >&2; exit 1; }
done
mkdir -p "$root"
if [ "$(git -C "$root/src" rev-parse HEAD 2>/dev/null)" != "$commit" ]; then
  rm -rf "$root/src" "$root/build"
  echo "build-llama-server: cloning llama.cpp $release ($commit) from the node-llama-cpp bundle" >&2
  git clone --quiet "$PWD/$bundle" "$root/src" >&2
  git -C "$root/src" checkout --quiet "$commit" >&2
fi
start=$(date +%s)
echo "build-llama-server: building llama-server (CPU, Release, -j${ARBITRAGE_BUILD_JOBS:-2}); about 10 minutes on 2 cores" >&2
cmake -S "$root/src" -B "$root/build" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_CURL=OFF -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF \
  -DCMAKE_C_FLAGS="$cpu_flags" -DCMAKE_CXX_FLAGS="$cpu_flags" >&2
cmake --build "$root/build" --target llama-server -j"${ARBITRAGE_BUILD_JOBS:-2}" >&2
[ -x "$bin" ] || { echo "build-llama-server: the build finished without $bin" >&2; exit 1; }
echo "$build_id" > "$stamp"
echo "build-llama-server: built in $(( $(date +%s) - start )) s" >&2
echo "$bin"
