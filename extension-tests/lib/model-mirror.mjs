// A mirror of the model hub on 127.0.0.1 for the download tests (engine server protocol tests and
// the extension's "Download Recommended Models"): the hub's manifest URL for `hf:user/repo:QUANT`
// (llama.cpp's `/v2/<user>/<repo>/manifests/<tag>`), its resolve URL with byte ranges, and the
// SHA-256 it declares per file (X-Linked-Etag). Every repo serves the given GGUF; what goes wrong
// is in the repo's name: slow-GGUF (slow, to cancel), corrupt-GGUF (one flipped byte),
// truncated-GGUF (half the file), dropping-GGUF (drops every connection), huge-GGUF (claims 2^40
// bytes). Each request is appended to `log` as { method, path, range }.
import { createHash } from "node:crypto";
import { createServer } from "node:http";

export function startModelMirror(gguf, log = []) {
  const sha = createHash("sha256").update(gguf).digest("hex");
  const sockets = new Set();
  const srv = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    log.push({ method: req.method, path: url.pathname, range: req.headers.range ?? null });
    const manifest = /^\/v2\/([^/]+)\/([^/]+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest) {
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify({ ggufFile: { rfilename: `${manifest[2].replace(/-GGUF$/, "")}-${manifest[3]}.gguf` } }));
    }
    const file = /^\/([^/]+)\/([^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
    if (!file) return res.writeHead(404).end();
    const repo = file[2];
    if (repo === "dropping-GGUF") return req.socket.destroy();
    let body = gguf;
    if (repo === "truncated-GGUF") body = gguf.subarray(0, gguf.length >> 1);
    if (repo === "corrupt-GGUF") {
      body = Buffer.from(gguf);
      body[body.length - 100] ^= 0xff; // a flipped byte in the tensor data: the header still reads
    }
    const size = repo === "huge-GGUF" ? 2 ** 40 : body.length;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] ? Number(range[2]) + 1 : size;
    res.writeHead(range ? 206 : 200, {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      "content-length": String(end - start),
      ...(range ? { "content-range": `bytes ${start}-${end - 1}/${size}` } : {}),
      "x-linked-etag": `"${sha}"`,
    });
    if (req.method === "HEAD") return res.end();
    if (repo === "huge-GGUF") return res.flushHeaders(); // the size is all it says; no body follows
    // Sent in 16 KiB chunks, slowly for "slow", so progress and cancellation have time to show.
    const delay = repo === "slow-GGUF" ? 150 : 2;
    for (let at = start; at < end && !res.destroyed; at += 16384) {
      res.write(body.subarray(at, Math.min(end, at + 16384)));
      await new Promise((r) => setTimeout(r, delay));
    }
    res.end();
  });
  srv.on("connection", (c) => {
    sockets.add(c);
    c.on("close", () => sockets.delete(c));
  });
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () =>
      resolve({
        endpoint: `http://127.0.0.1:${srv.address().port}/`,
        sha256: sha,
        log,
        close: () => {
          for (const c of sockets) c.destroy();
          srv.close();
        },
      }),
    ),
  );
}
