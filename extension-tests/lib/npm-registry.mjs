// A stand-in npm registry on 127.0.0.1 for the "Install CUDA Support" tests (node:test and the
// extension host): for each package it serves the registry's package document at
// `/@scope%2fname` (versions[v].dist.tarball and dist.integrity) and the tarball itself at
// `/-/<file>`, with Content-Length. The tarballs are real `npm pack` output of the packages in
// node_modules (packedPackage). Per package, what goes wrong: `integrity` publishes another
// digest; `stallAfterBytes` sends that many bytes of the tarball and then nothing. Each request is
// appended to `log` as { method, path }.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { createServer } from "node:http";

/** "sha512-<base64>" of a file. */
export async function integrityOf(path) {
  const hash = createHash("sha512");
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return `sha512-${hash.digest("base64")}`;
}

/**
 * The `npm pack` tarball of the package `name` installed in `<root>/node_modules`,
 * cached in ~/.cache/arbitrage/npm-pack/ (the CUDA one is ~143 MB and takes ~15 s to pack).
 */
export function packedPackage(root, name) {
  const pkgDir = join(root, "node_modules", name);
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const cache = join(homedir(), ".cache", "arbitrage", "npm-pack");
  const file = join(cache, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(cache, { recursive: true });
    execFileSync("npm", ["pack", pkgDir, "--pack-destination", cache, "--silent"], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return { file, version, bytes: statSync(file).size };
}

/** packages: [{ name, version, tgz, integrity?, stallAfterBytes? }] -> { url, log, close() }. */
export async function startNpmRegistry(packages, log = []) {
  const entries = await Promise.all(packages.map(async (p) => ({ ...p, published: p.integrity ?? (await integrityOf(p.tgz)) })));
  const sockets = new Set();
  let base = "";
  const srv = createServer((req, res) => {
    const path = new URL(req.url, "http://127.0.0.1").pathname;
    log.push({ method: req.method, path });
    const doc = entries.filter((e) => `/${e.name.replace("/", "%2f")}` === path.toLowerCase().replace("%2F", "%2f"));
    if (doc.length > 0) {
      const versions = Object.fromEntries(
        doc.map((e) => [e.version, { name: e.name, version: e.version, dist: { tarball: `${base}-/${basename(e.tgz)}`, integrity: e.published } }]),
      );
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify({ name: doc[0].name, versions }));
    }
    const tarball = entries.find((e) => path === `/-/${basename(e.tgz)}`);
    if (!tarball) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": statSync(tarball.tgz).size });
    if (tarball.stallAfterBytes === undefined) return createReadStream(tarball.tgz).pipe(res);
    // The first bytes, then silence (until the client gives up or the server closes).
    createReadStream(tarball.tgz, { start: 0, end: tarball.stallAfterBytes - 1 }).on("data", (d) => res.write(d));
  });
  srv.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${srv.address().port}/`;
  return {
    url: base,
    log,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** A base URL on 127.0.0.1 where nothing listens (a port just released). */
export async function deadRegistryUrl() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return `http://127.0.0.1:${port}/`;
}
