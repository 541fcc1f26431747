"""Train a draft or target byte LM on the embedded arithmetic task.

usage: python train_lm.py --role draft|target --layers L --d D --heads H --ff F --steps N --batch B --lr LR --seed S
Checkpoints go to training/.cache/<role>.pt (and <role>.step<k>.pt every --ckpt-every steps).
"""
import argparse
import math
import os
import random
import time

import torch
import torch.nn.functional as F

import task

from common import CACHE, heldout_problems, log, reserved_problems, setup_torch
from model import BOS, EOS, LM, Config, encode, greedy_generate, decode
from task import full_text, parse, prompt_text, value, final_answer


def make_batch(rng, batch, held, gen_problem):
    seqs, starts = [], []
    while len(seqs) < batch:
        e = gen_problem(rng)
        if e in held:
            continue
        spaced = rng.random() < 0.5
        ids = [BOS] + encode(full_text(e, spaced)) + [EOS]
        seqs.append(ids)
        starts.append(1 + len(encode(prompt_text(e))))
    return seqs, starts


def to_tensors(seqs, starts):
    T = max(len(s) for s in seqs) - 1
    x = torch.zeros(len(seqs), T, dtype=torch.long)
    y = torch.full((len(seqs), T), -100, dtype=torch.long)
    for i, (s, st) in enumerate(zip(seqs, starts)):
        n = len(s) - 1
        x[i, :n] = torch.tensor(s[:-1])
        tgt = torch.tensor(s[1:])
        tgt[: st - 1] = -100  # no loss on the question
        y[i, :n] = tgt
    return x, y


def evaluate(model, problems, bs=100):
    correct = 0
    for i in range(0, len(problems), bs):
        chunk = problems[i:i + bs]
        outs = greedy_generate(model, [[BOS] + encode(prompt_text(e)) for e in chunk])
        for e, o in zip(chunk, outs):
            if final_answer(decode(o)) == value(parse(e)):
                correct += 1
    model.train()
    return correct / len(problems)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--ff", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--threads-file", default=None, help="if this file exists, its integer content sets the thread count")
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--init", default=None, help="start from this checkpoint's weights (e.g. a grown model)")
    ap.add_argument("--keep-ckpts", action="store_true")
    ap.add_argument("--eval-n", type=int, default=100)
    ap.add_argument("--held-n", type=int, default=2000,
                    help="exclude the first N held-out problems of the family (2000 covers common.eval_problems)")
    ap.add_argument("--max-value", type=int, default=None,
                    help="train on the family with this bound on intermediate values (default: task.MAX_VALUE)")
    ap.add_argument("--max-ops", type=int, default=None,
                    help="train on the family with at most this many operations (default: task.MAX_OPS)")
    ap.add_argument("--stop-after", type=int, default=None,
                    help="end after this many steps, the lr schedule still following --steps (a time box)")
    ap.add_argument("--sampler", choices=["v1", "uniform", "focus"], default="uniform",
                    help="v1: the pre-training sampler (task.gen_problem_v1, skips the first --held-n of its held-out "
                         "stream); uniform: the shape-uniform task family (task.gen_problem, skips common.reserved_problems); "
                         "focus: half of it, half the right-nested 3-op shapes (task.gen_problem_focus, same skip)")
    a = ap.parse_args()
    if a.max_value is not None:
        task.MAX_VALUE = a.max_value
    if a.max_ops is not None:
        task.MAX_OPS = a.max_ops

    setup_torch(a.threads)
    threads = a.threads
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    os.makedirs(CACHE, exist_ok=True)
    if a.sampler == "v1":
        held_list = heldout_problems(n=a.held_n, max_value=a.max_value, max_ops=a.max_ops)  # never trained on
        gen_problem = task.gen_problem_v1
    else:
        held_list = reserved_problems()
        gen_problem = task.gen_problem if a.sampler == "uniform" else task.gen_problem_focus
    held = set(held_list)
    evalset = held_list[-a.eval_n:]  # the fixtures use the first problems; monitor on the last ones

    cfg = Config(a.layers, a.d, a.heads, a.ff, a.role)
    if a.init:
        ck0 = torch.load(a.init, map_location="cpu")
        c0 = Config.from_dict(ck0["config"])
        assert (c0.n_layer, c0.d_model, c0.n_head, c0.d_ff) == (a.layers, a.d, a.heads, a.ff), "config mismatch with --init"
        cfg.eps = c0.eps
        model = LM(cfg)
        model.load_state_dict(ck0["state"])
    else:
        model = LM(cfg)
    log("role", a.role, "params", model.n_params(), vars(a))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98))
    t0 = time.time()
    pool = []
    ema = None
    last = a.steps if a.stop_after is None else min(a.steps, a.stop_after)
    for step in range(1, last + 1):
        if a.threads_file and step % 20 == 0 and os.path.exists(a.threads_file):
            try:
                n = int(open(a.threads_file).read().strip())
                if n != threads:
                    threads = n
                    torch.set_num_threads(n)
                    log("threads ->", n)
            except ValueError:
                pass
        if not pool:  # length-bucketed batches: sort 8 batches' worth by length, split, shuffle
            seqs, starts = make_batch(rng, a.batch * 8, held, gen_problem)
            order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
            groups = [order[i:i + a.batch] for i in range(0, len(order), a.batch)]
            rng.shuffle(groups)
            pool = [([seqs[i] for i in g], [starts[i] for i in g]) for g in groups]
        x, y = to_tensors(*pool.pop())
        if step <= a.warmup:
            lr = a.lr * step / a.warmup
        else:
            p = (step - a.warmup) / max(1, a.steps - a.warmup)
            lr = a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 50 == 0:
            log("step %d loss %.4f lr %.2e elapsed %.0fs" % (step, ema, lr, time.time() - t0))
        if step % a.ckpt_every == 0 or step == last:
            ck = {"config": cfg.to_dict(), "state": model.state_dict(), "step": step, "args": vars(a),
                  "elapsed": time.time() - t0}
            torch.save(ck, os.path.join(CACHE, "%s.pt" % a.role))
            if a.keep_ckpts:
                torch.save(ck, os.path.join(CACHE, "%s.step%d.pt" % (a.role, step)))
        if step % a.eval_every == 0 or step == last:
            acc = evaluate(model, evalset)
            log("EVAL step %d acc %.3f elapsed %.0fs" % (step, acc, time.time() - t0))
    log("DONE elapsed %.0fs" % (time.time() - t0))


if __name__ == "__main__":
    main()
