#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3 with a Node extension host) into .tools/code-server,
# offline except for the npm registry. Reuses an existing install. Needs Debian packages
# libkrb5-dev (kerberos native build) and ripgrep (stands in for @vscode/ripgrep's GitHub download).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${CODE_SERVER_VERSION:-4.100.3}"
DEST="$ROOT/.tools/code-server"
BIN="$DEST/node_modules/.bin/code-server"

if [ -x "$BIN" ] && [ -f "$DEST/.installed-$VERSION" ]; then
  echo "code-server $VERSION already installed in $DEST"
  exit 0
fi

if [ "$(node -p 'process.versions.node.split(".")[0]')" != 20 ]; then
  echo "install-code-server: code-server $VERSION needs Node 20 (found $(node --version))" >&2
  exit 2
fi

missing=()
if ! [ -f /usr/include/gssapi/gssapi.h ] && ! command -v krb5-config >/dev/null; then missing+=(libkrb5-dev); fi
if ! command -v rg >/dev/null; then missing+=(ripgrep); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-code-server: missing system packages: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install -y ${missing[*]}  (or run scripts/setup-system.sh)" >&2
  exit 2
fi

# @vscode/ripgrep's postinstall only downloads from GitHub; it takes a cached archive when present.
CACHE_TMP="$(mktemp -d /tmp/csi.XXXXXX)"
trap 'rm -rf "$CACHE_TMP"' EXIT
RG_CACHE="$CACHE_TMP/vscode-ripgrep-cache-1.15.11"
mkdir -p "$RG_CACHE" "$CACHE_TMP/rgbin"
cp "$(command -v rg)" "$CACHE_TMP/rgbin/rg"
tar -C "$CACHE_TMP/rgbin" -czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg

mkdir -p "$DEST"
[ -f "$DEST/package.json" ] || echo '{"name":"arbitrage-tools-code-server","private":true}' > "$DEST/package.json"
# npm 11 blocks dependency install scripts by default; code-server's tree needs them (its postinstall
# runs a nested npm install that builds kerberos and node-pty), so allow them for this folder only.
echo "installing code-server $VERSION into $DEST (takes a few minutes)…"
(
  cd "$DEST"
  TMPDIR="$CACHE_TMP" \
  npm_config_dangerously_allow_all_scripts=true \
  NPM_CONFIG_YES=true \
  npm_config_unsafe_perm=true \
  npm install --no-audit --no-fund --loglevel=error "code-server@$VERSION"
)
[ -x "$BIN" ] || { echo "install-code-server: $BIN missing after install" >&2; exit 1; }
touch "$DEST/.installed-$VERSION"
echo "code-server $VERSION installed: $BIN"
