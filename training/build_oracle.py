"""Step-by-step rollouts of draft and target (greedy) to build router / PRM data.

For every context reached, both models generate one step; each is scored with the exact checker.
Policies: "oracle" (take the target's step when it scores better, else the draft's) and "draft"
(always the draft's step, for diversity).

usage: python build_oracle.py --split train|heldout --n N --draft-frac F --seed S --out file.jsonl
Rows: {problem, policy, context, draft_step, target_step, draft_score, target_score, advantage, router_label}
"""
import argparse
import glob
import json
import os
import random
import time

import torch

from common import CACHE, ROOT, eval_problems, log, reserved_problems, setup_torch
from export import load_ckpt
from model import BOS, CTX, decode, encode, greedy_generate
from task import check_step, gen_problem, is_final, parse, prompt_text
from train_cls import read_rows

MAX_STEP_TOKENS = 32
MAX_ROUNDS = 9


def gen_steps(model, contexts):
    outs = greedy_generate(model, [[BOS] + encode(c) for c in contexts], max_new=MAX_STEP_TOKENS, stop_on_blank_line=True)
    res = []
    for o in outs:
        t = decode(o)
        ended = t.endswith("\n\n")
        res.append((t[:-2] if ended else t, ended))
    return res


def rollout(draft, target, problems, policies, bs):
    rows = []
    for i in range(0, len(problems), bs):
        chunk = [(problems[j], policies[j]) for j in range(i, min(i + bs, len(problems)))]
        live = [{"problem": e, "policy": pol, "context": prompt_text(e), "state": parse(e)} for e, pol in chunk]
        for _ in range(MAX_ROUNDS):
            live = [s for s in live if len(encode(s["context"])) + MAX_STEP_TOKENS + 8 < CTX]
            if not live:
                break
            ctxs = [s["context"] for s in live]
            dsteps = gen_steps(draft, ctxs)
            tsteps = gen_steps(target, ctxs)
            nxt = []
            for s, (ds, dcont), (ts, tcont) in zip(live, dsteps, tsteps):
                dscore, dstate = check_step(s["state"], ds)
                tscore, tstate = check_step(s["state"], ts)
                adv = tscore - dscore
                rows.append({"problem": s["problem"], "policy": s["policy"], "context": s["context"],
                             "draft_step": ds, "target_step": ts, "draft_score": dscore, "target_score": tscore,
                             "advantage": adv, "router_label": 1 if adv > 0 else 0})
                if s["policy"] == "oracle" and tscore > dscore:
                    step, cont, state = ts, tcont, tstate
                else:
                    step, cont, state = ds, dcont, dstate
                if is_final(step) or not cont:
                    continue
                s["context"] = s["context"] + step + "\n\n"
                s["state"] = state
                nxt.append(s)
            live = nxt
        log("rolled out %d/%d problems, %d rows" % (min(i + bs, len(problems)), len(problems), len(rows)))
    return rows


def bench_problems():
    """Every question of bench/problems/*.jsonl: rollouts drawn after the bench sets must avoid them."""
    out = set()
    for path in glob.glob(os.path.join(ROOT, "bench", "problems", "*.jsonl")):
        with open(path) as f:
            out.update(json.loads(line)["question"] for line in f if line.strip())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True, choices=["train", "heldout"])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--offset", type=int, default=1000, help="heldout: first problem index of common.eval_problems used")
    ap.add_argument("--draft-frac", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--draft", default=CACHE + "/draft.final.pt")
    ap.add_argument("--target", default=CACHE + "/target.final.pt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--exclude", default="", help="train: rollout files (comma-separated) whose problems are not drawn again")
    ap.add_argument("--shard", default="0/1", help="train: I/N rolls out every N-th problem from the I-th (N processes, one list)")
    ap.add_argument("--ops", default="", help="train: MIN-MAX operations (default: the family's 1-3), e.g. 4-4 for "
                    "problems the target often fails; then no bench set's problem is drawn")
    a = ap.parse_args()
    setup_torch(a.threads)
    rng = random.Random(a.seed)
    if a.split == "heldout":
        problems = eval_problems(n=a.offset + a.n)[a.offset:]
    else:
        # never the held-out side of the family (fixtures, figures); the bench sets are drawn after the
        # rollouts and exclude their problems (bench/make-problems.py)
        hs = set(reserved_problems())
        if a.exclude:
            hs.update(r["problem"] for r in read_rows(a.exclude))
        min_ops, max_ops = None, None
        if a.ops:
            # drawn after the bench sets (which exclude only the family's rollouts), so never their problems
            hs.update(bench_problems())
            min_ops, max_ops = (int(x) for x in a.ops.split("-"))
        problems = []
        while len(problems) < a.n:
            e = gen_problem(rng, min_ops, max_ops)
            if e not in hs:
                hs.add(e)  # distinct problems: the 1-op part of the family is small and would repeat
                problems.append(e)
    policies = ["draft" if rng.random() < a.draft_frac else "oracle" for _ in problems]
    # Every shard draws the same list and policies, then takes its own slice: the shards are disjoint.
    shard, shards = (int(x) for x in a.shard.split("/"))
    problems, policies = problems[shard::shards], policies[shard::shards]
    draft, _ = load_ckpt(a.draft)
    target, _ = load_ckpt(a.target)
    t0 = time.time()
    rows = rollout(draft, target, problems, policies, a.bs)
    with open(a.out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    pos = sum(r["router_label"] for r in rows)
    log("wrote %d rows (%d router positives, %.1f%%), draft step acc %.3f, target step acc %.3f, %.0fs" % (
        len(rows), pos, 100.0 * pos / max(1, len(rows)),
        sum(r["draft_score"] for r in rows) / max(1, len(rows)),
        sum(r["target_score"] for r in rows) / max(1, len(rows)), time.time() - t0))


if __name__ == "__main__":
    main()
