"""Train the router or the PRM: a llama byte model read as a 2-class classifier.

Input  = BOS + context + step + "\n\n?"   (context = "Q: <expr>\n\n" + committed steps each + "\n\n";
                                           step = the step text without its trailing "\n\n")
Output = p = sigmoid(logit['Y'] - logit['N']) at the last position; loss only there.

router: step = the draft's step, label = 1 iff score(target step) - score(draft step) > 0;
        classes balanced by loss weights.
prm:    step = the draft's and the target's steps (unique per context), label = exact checker score;
        plain (unweighted) loss.

usage: python train_cls.py --role router|prm --train a.jsonl[,b.jsonl] --heldout h.jsonl [--init ckpt.pt] ...
"""
import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn.functional as F

from common import CACHE, log, setup_torch
from export import load_ckpt
from model import BOS, LM, Config, encode

QUERY = "\n\n?"
Y, N = ord("Y"), ord("N")


def examples(rows, role):
    out = []
    seen = set()  # prm: each (context, step) once (sampled rows repeat their context's target step)
    for r in rows:
        if role == "router":
            out.append((r["context"], r["draft_step"], r["router_label"]))
            continue
        for step, score in ((r["draft_step"], r["draft_score"]), (r["target_step"], r["target_score"])):
            if (r["context"], step) not in seen:
                seen.add((r["context"], step))
                out.append((r["context"], step, score))
    return out


def read_rows(paths):
    rows = []
    for p in paths.split(","):
        with open(p) as f:
            rows += [json.loads(l) for l in f if l.strip()]
    return rows


def validation_problems(rows, rng, frac):
    """The validation split, by problem (model selection only; never the held-out rollouts)."""
    probs = sorted(set(r["problem"] for r in rows))
    rng.shuffle(probs)
    return set(probs[: int(len(probs) * frac)])


def split_rows(rows, extra, rng, frac, split_extra=False):
    """(training rows, validation rows): the validation split of `rows` by problem; `extra` rows train only,
    unless split_extra, when their own split (drawn after, so the split of `rows` is unchanged) joins it."""
    valp = validation_problems(rows, rng, frac)
    if split_extra and extra:
        valp |= validation_problems(extra, rng, frac)
    both = rows + extra
    return [r for r in both if r["problem"] not in valp], [r for r in both if r["problem"] in valp]


def encode_ex(ex):
    c, s, y = ex
    return [BOS] + encode(c + s + QUERY), y


@torch.no_grad()
def predict(model, encoded, bs=256):
    model.eval()
    ps = []
    for i in range(0, len(encoded), bs):
        chunk = encoded[i:i + bs]
        x, last = pad(chunk)
        lg = model(x)[torch.arange(len(chunk)), last]
        ps += torch.sigmoid(lg[:, Y] - lg[:, N]).tolist()
    model.train()
    return ps


def pad(chunk):
    T = max(len(t) for t, _ in chunk)
    x = torch.zeros(len(chunk), T, dtype=torch.long)
    for i, (t, _) in enumerate(chunk):
        x[i, :len(t)] = torch.tensor(t)
    return x, torch.tensor([len(t) - 1 for t, _ in chunk])


def auc(ps, ys):
    pos = [p for p, y in zip(ps, ys) if y == 1]
    neg = [p for p, y in zip(ps, ys) if y != 1]
    if not pos or not neg:
        return float("nan")
    # rank statistic
    allv = sorted([(p, 1) for p in pos] + [(p, 0) for p in neg])
    rank_sum, i = 0.0, 0
    while i < len(allv):
        j = i
        while j < len(allv) and allv[j][0] == allv[i][0]:
            j += 1
        r = (i + j + 1) / 2.0  # average 1-based rank
        rank_sum += r * sum(1 for k in range(i, j) if allv[k][1] == 1)
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg))


def metrics(ps, ys):
    acc = sum((p >= 0.5) == (y == 1) for p, y in zip(ps, ys)) / len(ys)
    tpr = sum(p >= 0.5 for p, y in zip(ps, ys) if y == 1) / max(1, sum(ys))
    tnr = sum(p < 0.5 for p, y in zip(ps, ys) if y != 1) / max(1, len(ys) - sum(ys))
    return {"auc": auc(ps, ys), "acc": acc, "balanced_acc": (tpr + tnr) / 2, "n": len(ys), "pos": sum(ys)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", required=True, choices=["router", "prm"])
    ap.add_argument("--train", required=True)
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--init", default=None, help="initialise from an LM checkpoint (e.g. the draft)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--ff", type=int, default=192)
    ap.add_argument("--epochs", type=float, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--select", choices=["auc", "acc"], default="auc",
                    help="checkpoint selection on the validation split's ROC-AUC (both roles since issue 14) or accuracy")
    ap.add_argument("--evals", type=int, default=12, help="validation evaluations over the run")
    ap.add_argument("--extra", default="", help="more rollouts (comma-separated) for the training side only; "
                    "the validation split stays the one drawn from --train (see --split-extra)")
    ap.add_argument("--split-extra", action="store_true", help="the --extra rows get a validation split of their own "
                    "too (same share), which joins the selection: for rollouts of a new kind of problem")
    ap.add_argument("--out", default=None, help="checkpoint written (default: .cache/<role>.final.pt)")
    a = ap.parse_args()
    setup_torch(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)

    extra = read_rows(a.extra) if a.extra else []
    train_rows, val_rows = split_rows(read_rows(a.train), extra, rng, a.val_frac, a.split_extra)
    tr = [encode_ex(e) for e in examples(train_rows, a.role)]
    va = [encode_ex(e) for e in examples(val_rows, a.role)]
    he = [encode_ex(e) for e in examples(read_rows(a.heldout), a.role)]
    npos = sum(y for _, y in tr)
    log("%s: train %d (pos %d), val %d, heldout %d" % (a.role, len(tr), npos, len(va), len(he)))
    if a.role == "router":
        w_pos, w_neg = len(tr) / (2.0 * npos), len(tr) / (2.0 * (len(tr) - npos))
    else:
        w_pos = w_neg = 1.0

    if a.init:
        model, _ = load_ckpt(a.init)
        model.c.role = a.role
    else:
        model = LM(Config(a.layers, a.d, a.heads, a.ff, a.role))
    model.train()
    log("params", model.n_params(), "init", a.init)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    steps = int(math.ceil(len(tr) / a.batch * a.epochs))
    warm = max(1, steps // 20)
    t0 = time.time()
    best = (-1.0, None)
    order = []
    step = 0
    eval_every = max(50, steps // a.evals)
    if a.init:
        # A classifier fine-tuned from a trained one: the selection starts from it, so it can only keep or improve it.
        m = metrics(predict(model, va), [yy for _, yy in va])
        log("step 0/%d val %s" % (steps, json.dumps(m)))
        best = (m[a.select], {k: v.clone() for k, v in model.state_dict().items()}, 0)
    while step < steps:
        if not order:
            order = list(range(len(tr)))
            rng.shuffle(order)
        idx, order = order[: a.batch], order[a.batch:]
        chunk = [tr[i] for i in idx]
        x, last = pad(chunk)
        y = torch.tensor([float(yy) for _, yy in chunk])
        w = torch.where(y > 0.5, torch.tensor(w_pos), torch.tensor(w_neg))
        step += 1
        lr = a.lr * min(1.0, step / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        lg = model(x)[torch.arange(len(chunk)), last]
        loss = F.binary_cross_entropy_with_logits(lg[:, Y] - lg[:, N], y, weight=w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % eval_every == 0 or step == steps:
            m = metrics(predict(model, va), [yy for _, yy in va])
            key = m[a.select]
            log("step %d/%d loss %.4f val %s elapsed %.0fs" % (step, steps, loss.item(), json.dumps(m), time.time() - t0))
            if key > best[0]:
                best = (key, {k: v.clone() for k, v in model.state_dict().items()}, step)
    model.load_state_dict(best[1])
    hm = metrics(predict(model, he), [yy for _, yy in he])
    vm = metrics(predict(model, va), [yy for _, yy in va])
    log("BEST step %d val %s" % (best[2], json.dumps(vm)))
    log("HELDOUT %s" % json.dumps(hm))
    torch.save({"config": model.c.to_dict(), "state": model.state_dict(), "step": best[2], "args": vars(a),
                "elapsed": time.time() - t0, "val": vm, "heldout": hm}, a.out or os.path.join(CACHE, "%s.final.pt" % a.role))
    log("DONE elapsed %.0fs" % (time.time() - t0))


if __name__ == "__main__":
    main()
