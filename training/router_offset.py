"""Calibrate the router's logit offset so that the default threshold sits at a chosen operating point.

The engine reads a router's score as p = sigmoid(logit_Y - logit_N + offset), with the offset from the
GGUF's `arbitrage.classifier.offset` (src/engine/classifier-session.ts). The class-balanced router puts
its useful operating point far below the engine's default threshold (0.3): the committed 2x64 router of
issue 14 matched the target's accuracy at 0.02, where it catches 95% of the validation steps the
target improves. This script picks the offset that makes the default threshold catch the same share
(--recall) of the positives of the router's own validation split (train_cls.validation_problems, same
seed): offset = logit(threshold) - logit(q), q = the (1 - recall) quantile of the positives' raw
scores. It shifts every score alike, so no ranking (and no ROC-AUC) changes. Nothing is read from
the held-out rollouts or the bench sets.

usage: python router_offset.py [--ckpt .cache/router.final.pt] [--recall 0.95] [--threshold 0.3]
       (writes the offset into the checkpoint; export.py copies it into the GGUF)
"""
import argparse
import json
import math
import os
import random

import torch

from common import CACHE, log, setup_torch
from export import load_ckpt
from train_cls import encode_ex, predict, read_rows, validation_problems


def logit(p):
    return math.log(p / (1 - p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(CACHE, "router.final.pt"))
    ap.add_argument("--train", default=os.path.join(CACHE, "oracle-train.jsonl"))
    ap.add_argument("--seed", type=int, default=5, help="train_cls.py's seed (its validation split)")
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--recall", type=float, default=0.95)
    ap.add_argument("--threshold", type=float, default=0.3, help="the engine's default threshold (src/engine/defaults.ts)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    setup_torch(a.threads)
    model, ck = load_ckpt(a.ckpt)
    rows = read_rows(a.train)
    valp = validation_problems(rows, random.Random(a.seed), a.val_frac)
    val = [r for r in rows if r["problem"] in valp]
    ps = predict(model, [encode_ex((r["context"], r["draft_step"], 0)) for r in val])
    pos = sorted(p for p, r in zip(ps, val) if r["router_label"] == 1)
    q = pos[int(math.floor((1 - a.recall) * len(pos)))]
    q = min(max(q, 1e-7), 1 - 1e-7)
    offset = logit(a.threshold) - logit(q)
    # The shift is monotone: a shifted score reaches the threshold exactly where the raw one reaches q.
    sent = sum(p >= q for p in ps) / len(ps)
    recall = sum(p >= q for p in pos) / len(pos)
    report = {"offset": round(offset, 4), "raw_score_at_recall": q, "threshold": a.threshold, "recall": recall,
              "steps_sent": sent, "validation_rows": len(val), "positives": len(pos)}
    log(json.dumps(report))
    ck["offset"] = report["offset"]
    ck["offset_calibration"] = report
    torch.save(ck, a.ckpt)
    log("wrote offset into", a.ckpt)


if __name__ == "__main__":
    main()
