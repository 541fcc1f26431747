/**
 * The layer rule of ARCHITECTURE.md, checked by `npm run lint`: imports run one way, and no cycle,
 * type-only imports included (tsPreCompilationDeps keeps `import type` in the graph).
 *
 *   src/shared     pure helpers and types: imports no other layer
 *   src/engine     shared only
 *   src/protocol   the engine's vocabulary (types.ts, errors.ts, defaults.ts) and shared
 *   src/bindings   engine, protocol, shared
 *   src/bench      engine, protocol, shared, bindings
 *   src/server     anything but extension, bench, cli, media
 *   src/cli        anything but server, extension, media
 *   src/extension  anything but media, server, bench, cli
 *   media/         protocol and shared
 */

/** A rule forbidding `from` to import any of `to` (folders under the repository root). */
function forbid(name, from, to, comment) {
  return { name, severity: "error", comment, from: { path: `^(${from})/` }, to: { path: `^(${to.join("|")})/` } };
}

module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      severity: "error",
      comment: "A cycle, type-only imports included: move the shared types to a file of their own (see ARCHITECTURE.md).",
      from: { path: "^(src|media)/" },
      to: { circular: true },
    },
    forbid("shared-imports-no-layer", "src/shared", ["src/(?!shared/)[^/]+", "media"], "src/shared is the bottom layer: pure helpers and types."),
    forbid("engine-below-the-rest", "src/engine", ["src/(?!engine/|shared/)[^/]+", "media"], "src/engine imports only src/shared."),
    {
      name: "protocol-engine-vocabulary-only",
      severity: "error",
      comment: "src/protocol takes from the engine only its vocabulary: types.ts, errors.ts, defaults.ts.",
      from: { path: "^src/protocol/" },
      to: { path: "^src/engine/", pathNot: "^src/engine/(types|errors|defaults)\\.ts$" },
    },
    forbid(
      "protocol-below-hosts",
      "src/protocol",
      ["src/(?!engine/|shared/|protocol/)[^/]+", "media"],
      "src/protocol imports only the engine's types and src/shared.",
    ),
    forbid(
      "bindings-below-hosts",
      "src/bindings",
      ["src/(?!engine/|shared/|protocol/|bindings/)[^/]+", "media"],
      "src/bindings imports only engine, protocol and shared.",
    ),
    forbid(
      "server-no-host-code",
      "src/server",
      ["src/extension", "src/bench", "src/cli", "media"],
      "The engine server imports no host, bench, CLI or webview code.",
    ),
    forbid(
      "extension-no-other-hosts",
      "src/extension",
      ["media", "src/server", "src/bench", "src/cli"],
      "The extension host talks to the server and the webview through src/protocol only.",
    ),
    forbid("webview-protocol-and-shared", "media", ["src/(?!protocol/|shared/)[^/]+"], "The webview imports only src/protocol and src/shared."),
    forbid(
      "bench-below-cli",
      "src/bench",
      ["src/server", "src/extension", "src/cli", "media"],
      "The bench imports no server, host, CLI or webview code.",
    ),
    forbid("cli-no-hosts", "src/cli", ["src/server", "src/extension", "media"], "The CLI imports no server, host or webview code."),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules|test|extension-tests|scripts|training|bench|bin)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".mts", ".js", ".mjs"] },
  },
};
