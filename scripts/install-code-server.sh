#!/usr/bin/env bash
# Installs a code-server build (VS Code with a Node extension host) into .tools/, offline except for
# the npm registry, and reuses an existing install (a rerun takes well under a second).
#   scripts/install-code-server.sh          the "classic" build: code-server 4.100.3 (VS Code 1.100) on the
#                                           system Node 20, in .tools/code-server
#   scripts/install-code-server.sh chat     the "chat" build: code-server 4.139.1 (VS Code 1.139: chat view,
#                                           language-model providers) on Node 24, in .tools/code-server-<v>,
#                                           with Node itself from the registry's node-<platform>-<arch>
#                                           package in .tools/node-<v> (Node's headers included, so
#                                           node-gyp builds kerberos/node-pty without a download)
# Versions live in extension-tests/lib/code-servers.json. Needs Debian packages libkrb5-dev (kerberos
# native build) and, for the classic build, ripgrep (stands in for @vscode/ripgrep's GitHub download).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLAVOUR="${1:-classic}"
spec() { node -p "const s=require('$ROOT/extension-tests/lib/code-servers.json')['$FLAVOUR']; if(!s) throw new Error('unknown code-server flavour $FLAVOUR'); String(s['$1'] ?? '')"; }
VERSION="${CODE_SERVER_VERSION:-$(spec codeServer)}"
NODE_VERSION="$(spec node)"
DEST="$ROOT/.tools/$(spec dir)"
BIN="$DEST/node_modules/.bin/code-server"

if [ -n "$NODE_VERSION" ]; then
  NODE_DIR="$ROOT/.tools/node-$NODE_VERSION"
  if ! [ -x "$NODE_DIR/bin/node" ] || ! [ -f "$NODE_DIR/.installed" ]; then
    pkg="node-$(node -p 'process.platform + "-" + process.arch')@$NODE_VERSION"
    echo "fetching Node $NODE_VERSION ($pkg) into $NODE_DIR…"
    tmp="$(mktemp -d /tmp/csn.XXXXXX)"
    (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
    rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
    tar -xzf "$tmp"/*.tgz -C "$NODE_DIR" --strip-components=1
    rm -rf "$tmp"
    [ "$("$NODE_DIR/bin/node" --version)" = "v$NODE_VERSION" ] || { echo "install-code-server: $NODE_DIR/bin/node is not v$NODE_VERSION" >&2; exit 1; }
    touch "$NODE_DIR/.installed"
  fi
  export PATH="$NODE_DIR/bin:$PATH"
  export npm_config_nodedir="$NODE_DIR"
fi

if [ -x "$BIN" ] && [ -f "$DEST/.installed-$VERSION" ]; then
  echo "code-server $VERSION already installed in $DEST"
  exit 0
fi

want_major="${NODE_VERSION%%.*}"
want_major="${want_major:-20}"
if [ "$(node -p 'process.versions.node.split(".")[0]')" != "$want_major" ]; then
  echo "install-code-server: code-server $VERSION needs Node $want_major (found $(node --version))" >&2
  exit 2
fi

missing=()
if ! [ -f /usr/include/gssapi/gssapi.h ] && ! command -v krb5-config >/dev/null; then missing+=(libkrb5-dev); fi
if [ -z "$NODE_VERSION" ] && ! command -v rg >/dev/null; then missing+=(ripgrep); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-code-server: missing system packages: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install -y ${missing[*]}  (or run scripts/setup-system.sh)" >&2
  exit 2
fi

CACHE_TMP="$(mktemp -d /tmp/csi.XXXXXX)"
trap 'rm -rf "$CACHE_TMP"' EXIT
if [ -z "$NODE_VERSION" ]; then
  # 4.100's @vscode/ripgrep postinstall only downloads from GitHub; it takes a cached archive when
  # present. (Newer builds ship @vscode/ripgrep-universal with the binaries inside the package.)
  RG_CACHE="$CACHE_TMP/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$RG_CACHE" "$CACHE_TMP/rgbin"
  cp "$(command -v rg)" "$CACHE_TMP/rgbin/rg"
  tar -C "$CACHE_TMP/rgbin" -czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
fi

mkdir -p "$DEST"
[ -f "$DEST/package.json" ] || echo '{"name":"arbitrage-tools-code-server","private":true}' > "$DEST/package.json"
# npm 11 blocks dependency install scripts by default; code-server's tree needs them (its postinstall
# runs a nested npm install that builds kerberos and node-pty), so allow them for this folder only.
echo "installing code-server $VERSION on Node $(node --version) into $DEST (takes a few minutes)…"
(
  cd "$DEST"
  # Run from `npm test`, the outer npm's settings are in the environment as npm_config_*, and the
  # inner npm takes them as its own: npm_config_user_agent then still says the outer Node (v20), and
  # code-server's postinstall reads its Node version from that and refuses. The inner npm starts clean.
  while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
  if [ -n "$NODE_VERSION" ]; then export npm_config_nodedir="$NODE_DIR"; fi
  TMPDIR="$CACHE_TMP" \
  npm_config_dangerously_allow_all_scripts=true \
  NPM_CONFIG_YES=true \
  npm_config_unsafe_perm=true \
  npm install --no-audit --no-fund --loglevel=error "code-server@$VERSION"
)
[ -x "$BIN" ] || { echo "install-code-server: $BIN missing after install" >&2; exit 1; }
touch "$DEST/.installed-$VERSION"
echo "code-server $VERSION installed: $BIN"
