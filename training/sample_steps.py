"""More router / PRM data from the same rollouts: draft steps sampled at temperature 1 in the rollout contexts.

The greedy rollouts (build_oracle.py) give one draft step per context, and only 13% of them are ones the
target improves; a 2x64 router trained on them overfits before it learns to check a step (training/README.md).
Here the draft samples K more steps in every training context (temperature 1: the mistakes the draft itself
finds plausible, e.g. a tens digit off or an operand that is not in the expression). Each is labelled
exactly as a rollout row: advantage = exact score(target's greedy step) - exact score(sampled step), router
label 1 iff > 0 (the target's step of that context is already in the row). Rows of the router's validation
problems (train_cls.validation_problems, same seed) get no samples, so model selection stays on greedy
rollouts only; the held-out rollouts and the bench sets are never read.

usage: python sample_steps.py [--train .cache/oracle-train.jsonl] [--k 3] [--out .cache/oracle-sampled.jsonl]
Rows: as build_oracle.py's, policy "sampled".
"""
import argparse
import json
import os
import random
import time

import torch

from build_oracle import MAX_STEP_TOKENS
from common import CACHE, log, setup_torch
from export import load_ckpt
from model import BOS, decode, encode, greedy_generate
from task import check_step, parse
from train_cls import read_rows, validation_problems


def state_of(row):
    """The exact checker's state after the row's committed steps."""
    state = parse(row["problem"])
    for step in row["context"].split("\n\n")[1:]:
        if step:
            _, state = check_step(state, step)
    return state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=os.path.join(CACHE, "oracle-train.jsonl"))
    ap.add_argument("--draft", default=os.path.join(CACHE, "draft.final.pt"))
    ap.add_argument("--k", type=int, default=3, help="samples per context")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--cls-seed", type=int, default=5, help="train_cls.py's seed (its validation split)")
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--bs", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(CACHE, "oracle-sampled.jsonl"))
    a = ap.parse_args()
    setup_torch(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    draft, _ = load_ckpt(a.draft)
    rows = read_rows(a.train)
    valp = validation_problems(rows, random.Random(a.cls_seed), a.val_frac)
    rows = [r for r in rows if r["problem"] not in valp]
    t0 = time.time()
    out, seen = [], set()
    for i in range(0, len(rows), a.bs):
        chunk = rows[i:i + a.bs]
        prompts = [[BOS] + encode(r["context"]) for r in chunk for _ in range(a.k)]
        texts = [decode(o) for o in greedy_generate(draft, prompts, max_new=MAX_STEP_TOKENS, stop_on_blank_line=True,
                                                    temperature=a.temperature, generator=gen)]
        for j, r in enumerate(chunk):
            state = None
            for t in texts[j * a.k:(j + 1) * a.k]:
                if not t.endswith("\n\n"):
                    continue  # ran past the step cap: not a step the engine would judge
                step = t[:-2]
                key = (r["context"], step)
                if step == r["draft_step"] or key in seen:
                    continue
                seen.add(key)
                state = state if state is not None else state_of(r)
                score, _ = check_step(state, step)
                adv = r["target_score"] - score
                out.append({"problem": r["problem"], "policy": "sampled", "context": r["context"], "draft_step": step,
                            "target_step": r["target_step"], "draft_score": score, "target_score": r["target_score"],
                            "advantage": adv, "router_label": 1 if adv > 0 else 0})
        log("sampled %d/%d contexts, %d new rows, %.0fs" % (min(i + a.bs, len(rows)), len(rows), len(out), time.time() - t0))
    with open(a.out, "w") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")
    pos = sum(r["router_label"] for r in out)
    log("wrote %d rows (%d router positives, %.1f%%), sampled step acc %.3f, %.0fs" % (
        len(out), pos, 100.0 * pos / max(1, len(out)), sum(r["draft_score"] for r in out) / max(1, len(out)),
        time.time() - t0))


if __name__ == "__main__":
    main()
