import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.join(HERE, ".cache")
MODELS = os.path.join(ROOT, "models")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "models")

HELDOUT_SEED = 987654321   # held-out problems (fixtures, evaluation); never trained on
N_HELDOUT = 1000
DRAFT_FT_STEPS = 400      # issue 14 fine-tunes (build_all.sh stage 3b, --stop-after); the replay needs their lengths
TARGET_FT_STEPS = 300     # the uniform fine-tune was stopped at 300 (right-nested shapes got worse) ...
TARGET_FT2_STEPS = 700    # ... and continued on the focus mix


def setup_torch(threads=2):
    torch.set_flush_denormal(True)
    torch.set_num_threads(threads)


def heldout_problems(n=N_HELDOUT, max_value=None, max_ops=None, sampler="v1"):
    """The raw held-out stream (seed HELDOUT_SEED) of a sampler: "v1" (task.gen_problem_v1, the pre-training
    lineage, optionally with another value bound / op count) or "uniform" (task.gen_problem, the
    shape-uniform task family)."""
    import task
    saved = task.MAX_VALUE, task.MAX_OPS
    if max_value is not None:
        task.MAX_VALUE = max_value
    if max_ops is not None:
        task.MAX_OPS = max_ops
    try:
        return _heldout(n, task.gen_problem_v1 if sampler == "v1" else task.gen_problem)
    finally:
        task.MAX_VALUE, task.MAX_OPS = saved


def _heldout(n, gen_problem):
    rng = random.Random(HELDOUT_SEED)
    out = []
    seen = set()
    while len(out) < n:
        e = gen_problem(rng)
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


# The shape-uniform family's held-out stream: its first RESERVED_N distinct problems are never trained
# on (train_lm.py --sampler uniform, build_oracle.py --split train skip them); fixtures, reported
# figures, the by-shape measurement, held-out rollouts and the bench sets draw from them only.
RESERVED_N = 8000


def reserved_problems(n=RESERVED_N):
    return heldout_problems(n=n, sampler="uniform")


def log(*a):
    print(*a, flush=True)
    sys.stdout.flush()


# Every language-model training run in the lineage of the committed draft and target, in order
# (see build_all.sh): seed, steps, batch, the family (max_value, max_ops, sampler) and what it excluded
# ("v1:N" = the first N of the v1 held-out stream of that family, "reserved" = reserved_problems()).
TRAIN_STREAMS = [
    dict(seed=1, steps=4000, batch=64, max_value=999, max_ops=5, sampler="v1", held="v1:1000"),   # draft
    dict(seed=2, steps=6000, batch=32, max_value=999, max_ops=5, sampler="v1", held="v1:1000"),   # target phase 1 (4x192)
    dict(seed=4, steps=3000, batch=32, max_value=99, max_ops=5, sampler="v1", held="v1:2000"),    # target phase 2 (4x192)
    dict(seed=5, steps=300, batch=32, max_value=99, max_ops=5, sampler="v1", held="v1:2000"),     # target phase 3 (8x256)
    # issue 14: fine-tunes on the shape-uniform family, 1..3 operations
    dict(seed=21, steps=DRAFT_FT_STEPS, batch=64, max_value=99, max_ops=3, sampler="uniform", held="reserved"),  # draft
    dict(seed=22, steps=TARGET_FT_STEPS, batch=32, max_value=99, max_ops=3, sampler="uniform", held="reserved"),  # target
    dict(seed=23, steps=TARGET_FT2_STEPS, batch=32, max_value=99, max_ops=3, sampler="focus", held="reserved"),  # target, 2nd
]


def stream_held(spec, max_value, max_ops):
    """The set a training stream skips (spec as in TRAIN_STREAMS)."""
    if spec == "reserved":
        return set(reserved_problems())
    kind, n = spec.split(":")
    return set(heldout_problems(n=int(n), max_value=max_value, max_ops=max_ops, sampler=kind))


def replay_stream(run):
    """Every problem train_lm.py draws for one TRAIN_STREAMS run: the same rng calls as its make_batch
    (a problem, then its wording) and its pool shuffle, in pools of 8 batches."""
    import task
    held = stream_held(run["held"], run["max_value"], run["max_ops"])
    gen = {"v1": task.gen_problem_v1, "uniform": task.gen_problem, "focus": task.gen_problem_focus}[run["sampler"]]
    saved = task.MAX_VALUE, task.MAX_OPS
    task.MAX_VALUE, task.MAX_OPS = run["max_value"], run["max_ops"]
    seen = set()
    try:
        rng = random.Random(run["seed"])
        for _ in range((run["steps"] + 7) // 8):
            n = 0
            while n < run["batch"] * 8:
                e = gen(rng)
                if e in held:
                    continue
                rng.random()  # wording
                seen.add(e)
                n += 1
            groups = list(range(8))
            rng.shuffle(groups)
    finally:
        task.MAX_VALUE, task.MAX_OPS = saved
    return seen


def trained_problems():
    """Every problem the training runs drew (replay of train_lm.py make_batch), cached per TRAIN_STREAMS."""
    import hashlib
    key = hashlib.sha256(repr(TRAIN_STREAMS).encode()).hexdigest()[:12]
    path = os.path.join(CACHE, "trained-problems-%s.txt" % key)
    if os.path.exists(path):
        with open(path) as f:
            return set(f.read().split())
    seen = set()
    for run in TRAIN_STREAMS:
        seen |= replay_stream(run)
    os.makedirs(CACHE, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(sorted(seen)))
    return seen


def eval_problems(n=N_HELDOUT):
    """Held-out problems of the task family used for fixtures and reported figures: the reserved stream
    minus anything a training run drew (the pre-training runs drew from another sampler, and the 1-op and
    2-op parts of the family are small enough to collide)."""
    pre = trained_problems()
    return [e for e in reserved_problems() if e not in pre][:n]
