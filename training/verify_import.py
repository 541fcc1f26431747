"""Prove that import_gguf.py is exact: the imported draft/target reproduce the committed greedy fixture
(test/fixtures/models/greedy.jsonl) and the imported router/prm reproduce the fixture's probabilities
(test/fixtures/models/oracle-heldout.jsonl) within --tol.

usage: python verify_import.py [--tol 1e-5] [--threads 1]      (after import_gguf.py --all)
"""
import argparse
import json
import os
import sys

from common import CACHE, FIXTURES, log, setup_torch
from eval_lm import gen_all
from export import load_ckpt
from train_cls import encode_ex, predict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    setup_torch(a.threads)
    ok = True
    with open(os.path.join(FIXTURES, "greedy.jsonl")) as f:
        greedy = [json.loads(l) for l in f if l.strip()]
    for role in ("draft", "target"):
        m, _ = load_ckpt(os.path.join(CACHE, role + ".final.pt"))
        texts = gen_all(m, [g["problem"] for g in greedy])
        same = sum(t == g[role] for t, g in zip(texts, greedy))
        log("%s: %d/%d greedy texts identical to the fixture" % (role, same, len(greedy)))
        ok &= same == len(greedy)
    with open(os.path.join(FIXTURES, "oracle-heldout.jsonl")) as f:
        rows = [json.loads(l) for l in f if l.strip()]
    checks = {"router": [("draft_step", "router_p")], "prm": [("draft_step", "prm_p_draft"), ("target_step", "prm_p_target")]}
    for role, cols in checks.items():
        m, _ = load_ckpt(os.path.join(CACHE, role + ".final.pt"))
        worst = 0.0
        for step_key, p_key in cols:
            ps = predict(m, [encode_ex((r["context"], r[step_key], 0)) for r in rows])
            worst = max(worst, max(abs(p - r[p_key]) for p, r in zip(ps, rows)))
        log("%s: max |p - fixture p| = %.2e over %d rows" % (role, worst, len(rows)))
        ok &= worst <= a.tol
    log("EXACT" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
