"""Function-preserving growth of a trained LM checkpoint to a wider, deeper one (Net2Net-style).

usage: python grow.py src.pt dst.pt --layers 8 --d 256 --heads 4 --ff 704

- width d -> D: the residual stream gets D-d new dimensions that start at zero: new output rows of
  every matrix writing into the stream (embedding, attn_output, ffn_down) are zero; new input columns
  of matrices reading from it are small random; RMSNorm weights are scaled by sqrt(d/D) so the norm of
  the zero-padded stream gives the same normalised values.
- heads h -> H (same head_dim): new heads have random q/k/v rows and zero attn_output columns.
- d_ff f -> F: new FFN units have random gate/up rows and zero ffn_down columns.
- layers L -> L2: the old blocks keep their order; new blocks (random, with zero attn_output and
  ffn_down, so they start as the identity) are interleaved after them.
- RMSNorm epsilon d/D times the old one (GGUF llama.attention.layer_norm_rms_epsilon), which makes it exact.
The grown model computes the same function (max logit difference printed, float rounding only),
then is trained further at full size.
"""
import argparse
import math

import torch

from model import LM, Config


def pad2(old, shape, std, zero_rows=False, zero_cols=False, gen=None):
    new = torch.randn(shape, generator=gen) * std
    r, c = old.shape
    if zero_rows:
        new[r:, :] = 0
    if zero_cols:
        new[:, c:] = 0
    new[:r, :c] = old
    return new


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--ff", type=int, required=True)
    ap.add_argument("--role", default="target")
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    gen = torch.Generator().manual_seed(a.seed)
    ck = torch.load(a.src, map_location="cpu")
    c0 = Config.from_dict(ck["config"])
    # RMSNorm over the zero-padded stream: mean_D(x^2) = (d/D) mean_d(x^2), so scaling the norm weights by
    # sqrt(d/D) and the epsilon by d/D gives exactly the old normalised values.
    c1 = Config(a.layers, a.d, a.heads, a.ff, a.role, eps=c0.eps * c0.d_model / a.d)
    assert c0.head_dim == c1.head_dim and a.layers >= c0.n_layer and a.d >= c0.d_model and a.ff >= c0.d_ff
    s0 = ck["state"]
    m1 = LM(c1)
    s1 = m1.state_dict()
    d, D, f, F = c0.d_model, c1.d_model, c0.d_ff, c1.d_ff
    scale = math.sqrt(d / D)
    std = 0.02
    out = {}
    out["tok.weight"] = pad2(s0["tok.weight"], (258, D), std, zero_cols=True, gen=gen)
    out["norm.weight"] = torch.cat([s0["norm.weight"] * scale, torch.ones(D - d)])
    out["head.weight"] = pad2(s0["head.weight"], (258, D), std, gen=gen)
    # layer placement: old block i goes to slot pos[i]; others are new identity blocks
    ratio = a.layers / c0.n_layer
    pos = [int(round(i * ratio)) for i in range(c0.n_layer)]
    for j in range(a.layers):
        p = "blocks.%d." % j
        if j in pos:
            q = "blocks.%d." % pos.index(j)
            out[p + "attn_norm.weight"] = torch.cat([s0[q + "attn_norm.weight"] * scale, torch.ones(D - d)])
            out[p + "ffn_norm.weight"] = torch.cat([s0[q + "ffn_norm.weight"] * scale, torch.ones(D - d)])
            for w in ("wq", "wk", "wv"):
                out[p + w + ".weight"] = pad2(s0[q + w + ".weight"], (D, D), std, gen=gen)
            out[p + "wo.weight"] = pad2(s0[q + "wo.weight"], (D, D), std, zero_rows=True, zero_cols=True, gen=gen)
            out[p + "w_gate.weight"] = pad2(s0[q + "w_gate.weight"], (F, D), std, gen=gen)
            out[p + "w_up.weight"] = pad2(s0[q + "w_up.weight"], (F, D), std, gen=gen)
            out[p + "w_down.weight"] = pad2(s0[q + "w_down.weight"], (D, F), std, zero_rows=True, zero_cols=True, gen=gen)
        else:
            for k in ("attn_norm.weight", "ffn_norm.weight"):
                out[p + k] = torch.ones(D)
            for w in ("wq", "wk", "wv", "w_gate", "w_up"):
                out[p + w + ".weight"] = torch.randn(s1[p + w + ".weight"].shape, generator=gen) * std
            out[p + "wo.weight"] = torch.zeros(D, D)
            out[p + "w_down.weight"] = torch.zeros(D, F)
    assert set(out) == set(s1), set(s1) ^ set(out)
    m1.load_state_dict(out)
    m0 = LM(c0)
    m0.load_state_dict(s0)
    x = torch.randint(0, 258, (4, 60))
    with torch.no_grad():
        diff = (m0(x) - m1(x)).abs().max().item()
    print("grown %s -> %s, params %d -> %d, max logit diff %.2e" % (c0.to_dict(), c1.to_dict(), m0.n_params(), m1.n_params(), diff))
    assert diff < 1e-3
    torch.save({"config": c1.to_dict(), "state": m1.state_dict(), "step": 0, "grown_from": a.src,
                "src_step": ck.get("step"), "src_elapsed": ck.get("elapsed")}, a.dst)


if __name__ == "__main__":
    main()
