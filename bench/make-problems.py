"""Writes bench/problems/embedded-heldout.jsonl: the benchmark's held-out problems of the embedded task.

usage: /usr/bin/python3 bench/make-problems.py [--n 200] [--seed 251205033] [--streams 1:4000:64,2:6000:32,...]
                                               [--out bench/problems/embedded-heldout.jsonl]

Problems come from the training generator (training/task.py `gen_problem`, 2..5 operations) with
its own seed, 251205033, which no training script uses (train_lm.py: --seed 1 draft, 2 target;
common.py HELDOUT_SEED 987654321). To be sure none was trained on, the script also replays the
language models' training streams (train_lm.py make_batch + shuffle, seeds and step counts below)
and drops any problem that occurs in them; it also skips the training's own held-out list (used for
test fixtures and checkpoint monitoring), so the benchmark set is disjoint from both.
Each line: {"question": "<expr>", "answer": "<value>"} (the answer as the model writes it after "A:").
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))
from task import gen_problem, parse, value  # noqa: E402

BENCH_SEED = 251205033
HELDOUT_SEED = 987654321  # training/common.py (imported lazily there with torch; repeated here)
N_HELDOUT = 1000
# (seed, steps, batch) of the LM training runs (training/train_lm.py invocations, read from the
# checkpoints' "args"); a longer run of the same seed and batch draws a superset, so steps may be generous.
TRAIN_STREAMS = "1:4000:64,2:2800:32,2:6000:32"


def heldout():
    rng, out, seen = random.Random(HELDOUT_SEED), [], set()
    while len(out) < N_HELDOUT:
        e = gen_problem(rng)
        if e not in seen:
            seen.add(e)
            out.append(e)
    return set(out)


def training_stream(seed, steps, batch, held):
    """Every problem train_lm.py draws for (seed, steps, batch): make_batch(rng, batch*8) then rng.shuffle(8 groups)."""
    rng, seen, drawn = random.Random(seed), set(), 0
    while drawn < steps * batch:
        n = 0
        while n < batch * 8:
            e = gen_problem(rng)
            if e in held:
                continue
            rng.random()  # spaced or not
            seen.add(e)
            n += 1
        groups = list(range(8))
        rng.shuffle(groups)
        drawn += batch * 8
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=BENCH_SEED)
    ap.add_argument("--streams", default=TRAIN_STREAMS, help="training streams seed:steps:batch, comma-separated")
    ap.add_argument("--out", default=os.path.join(HERE, "problems", "embedded-heldout.jsonl"))
    a = ap.parse_args()
    held = heldout()
    trained = set()
    streams = sorted({tuple(int(x) for x in s.split(":")) for s in a.streams.split(",") if s.strip()})
    for seed, steps, batch in streams:
        # the longest run of each (seed, batch) covers the shorter ones
        if any(s2 == seed and b2 == batch and st2 > steps for s2, st2, b2 in streams):
            continue
        trained |= training_stream(seed, steps, batch, held)
    rng, out, seen, dropped = random.Random(a.seed), [], set(), 0
    while len(out) < a.n:
        e = gen_problem(rng)
        if e in seen:
            continue
        seen.add(e)
        if e in held or e in trained:
            dropped += 1
            continue
        out.append(e)
    with open(a.out, "w") as f:
        for e in out:
            f.write(json.dumps({"question": e, "answer": str(value(parse(e)))}) + "\n")
    print("wrote %d problems (seed %d) to %s; dropped %d seen in training streams or the training held-out list (%d problems checked)"
          % (len(out), a.seed, a.out, dropped, len(trained) + len(held)))


if __name__ == "__main__":
    main()
