"""Held-out router scores with the draft step's token confidences, and a learned-score + confidence
combination (issue 14, for the lead's bench).

For every rollout row: the router's p (PyTorch, = node-llama-cpp within 1e-5), and the draft's probability
of each token of its own step + "\\n\\n" (the tokens it generated greedily, so each is the max of its
distribution; the same tokens training/fit-confidence-router.ts reads through node-llama-cpp), summarised
as min and mean. A class-balanced logistic regression on [logit(router p), min prob, mean prob] is fitted
on the router's own validation split of the training rollouts (train_cls.validation_problems, same seed)
and evaluated on the held-out rollouts; nothing is chosen on the held-out rows.

usage: python router_scores.py [--train .cache/oracle-train.jsonl] [--heldout .cache/oracle-heldout.jsonl]
       [--out .cache/router-scores-heldout.jsonl] [--threads 1]
"""
import argparse
import json
import math
import os
import random

import numpy as np
import torch

from common import CACHE, log, setup_torch
from export import load_ckpt
from model import BOS, encode
from train_cls import auc, encode_ex, predict, read_rows, validation_problems


@torch.no_grad()
def step_token_probs(draft, rows, bs=256):
    """Per row: the draft's probability of each token of draft_step + "\\n\\n" after BOS + context."""
    draft.eval()
    out = []
    for i in range(0, len(rows), bs):
        chunk = rows[i:i + bs]
        seqs = [([BOS] + encode(r["context"]), encode(r["draft_step"] + "\n\n")) for r in chunk]
        T = max(len(c) + len(s) for c, s in seqs)
        x = torch.zeros(len(chunk), T, dtype=torch.long)
        for j, (c, s) in enumerate(seqs):
            x[j, :len(c) + len(s)] = torch.tensor(c + s)
        probs = torch.softmax(draft(x), dim=-1)
        for j, (c, s) in enumerate(seqs):
            pos = torch.arange(len(c) - 1, len(c) + len(s) - 1)
            out.append(probs[j, pos, torch.tensor(s)].tolist())
    return out


def features(router_p, token_probs):
    p = min(max(router_p, 1e-7), 1 - 1e-7)
    return [math.log(p / (1 - p)), min(token_probs), sum(token_probs) / len(token_probs)]


def fit_logistic(x, y, iters=50, l2=1e-3):
    """Class-balanced logistic regression by Newton's method; returns (weights, bias) on standardised x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w_pos, w_neg = len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum()))
    sw = np.where(y > 0.5, w_pos, w_neg)
    beta = np.zeros(z.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-z @ beta))
        g = z.T @ (sw * (p - y)) + l2 * beta
        h = (z * (sw * p * (1 - p))[:, None]).T @ z + l2 * np.eye(len(beta))
        beta -= np.linalg.solve(h, g)
    return mu, sd, beta


def score(model, x):
    mu, sd, beta = model
    z = np.hstack([(np.asarray(x, float) - mu) / sd, np.ones((len(x), 1))])
    return (1 / (1 + np.exp(-z @ beta))).tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=os.path.join(CACHE, "oracle-train.jsonl"))
    ap.add_argument("--heldout", default=os.path.join(CACHE, "oracle-heldout.jsonl"))
    ap.add_argument("--router", default=os.path.join(CACHE, "router.final.pt"))
    ap.add_argument("--draft", default=os.path.join(CACHE, "draft.final.pt"))
    ap.add_argument("--seed", type=int, default=5, help="train_cls.py's seed (its validation split)")
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--out", default=os.path.join(CACHE, "router-scores-heldout.jsonl"))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    setup_torch(a.threads)
    router, _ = load_ckpt(a.router)
    draft, _ = load_ckpt(a.draft)
    train = read_rows(a.train)
    valp = validation_problems(train, random.Random(a.seed), a.val_frac)
    val = [r for r in train if r["problem"] in valp]
    held = read_rows(a.heldout)
    sets = {}
    for name, rows in (("validation", val), ("heldout", held)):
        ps = predict(router, [encode_ex((r["context"], r["draft_step"], 0)) for r in rows])
        tps = step_token_probs(draft, rows)
        sets[name] = (rows, ps, tps, [features(p, t) for p, t in zip(ps, tps)], [r["router_label"] for r in rows])
    rows, ps, tps, x, y = sets["validation"]
    comb = fit_logistic(x, y)
    conf_only = fit_logistic([f[1:] for f in x], y)
    report = {}
    for name, (rows, ps, tps, x, y) in sets.items():
        cs = score(comb, x)
        report[name] = {"n": len(y), "pos": sum(y), "auc_router": auc(ps, y), "auc_min_prob": auc([-f[1] for f in x], y),
                        "auc_mean_prob": auc([-f[2] for f in x], y),
                        "auc_confidence_logistic": auc(score(conf_only, [f[1:] for f in x]), y),
                        "auc_router_plus_confidence": auc(cs, y)}
        if name == "heldout":
            with open(a.out, "w") as f:
                for r, p, t, c in zip(rows, ps, tps, cs):
                    f.write(json.dumps({"problem": r["problem"], "context": r["context"], "draft_step": r["draft_step"],
                                        "target_step": r["target_step"], "router_label": r["router_label"],
                                        "router_p": p, "draft_min_prob": min(t), "draft_mean_prob": sum(t) / len(t),
                                        "draft_token_probs": t, "combined_p": c}) + "\n")
    mu, sd, beta = comb
    report["combination"] = {"features": ["logit(router_p)", "draft_min_prob", "draft_mean_prob"], "mean": mu.tolist(),
                             "std": sd.tolist(), "weights_on_standardised": beta[:-1].tolist(), "bias": float(beta[-1]),
                             "fit_on": "router validation split of the training rollouts (%d rows)" % len(sets["validation"][4])}
    log(json.dumps(report, indent=1))
    with open(os.path.splitext(a.out)[0] + ".report.json", "w") as f:
        json.dump(report, f, indent=1)
    log("wrote", a.out)


if __name__ == "__main__":
    main()
