"""Final-answer accuracy by problem SHAPE: operation count x tree shape, and operation count x nesting
depth of the printed parentheses, on held-out problems of the shape-uniform family.

The problems: common.eval_problems (the reserved stream minus every trained problem), taking for each
(ops, tree shape) cell and each (ops, depth) cell its first --per-cell problems (PyTorch greedy, exact).

usage: python by_shape.py --ckpt .cache/target.final.pt[,...] [--per-cell 120] [--json-out f.json] [--threads 1]
"""
import argparse
import json
from collections import OrderedDict

from common import eval_problems, log, setup_torch
from eval_lm import gen_all
from export import load_ckpt
from task import MAX_OPS, MIN_OPS, final_answer, n_ops, paren_depth, parse, shape_of, tree_shapes, value


def shape_cells(min_ops=MIN_OPS, max_ops=MAX_OPS):
    return [(k, s) for k in range(min_ops, max_ops + 1) for s in tree_shapes(k)]


def by_shape_problems(per_cell, min_ops=MIN_OPS, max_ops=MAX_OPS):
    """The measurement set and, per problem, its (ops, shape) and (ops, depth) cells."""
    counts, chosen = {}, []
    for e in eval_problems(n=10 ** 9):
        t = parse(e)
        k = n_ops(t)
        if not min_ops <= k <= max_ops:
            continue
        cells = (("shape", k, shape_of(t)), ("depth", k, paren_depth(e)))
        if any(counts.get(c, 0) < per_cell for c in cells):
            for c in cells:
                counts[c] = counts.get(c, 0) + 1
            chosen.append(e)
    return chosen


def table(problems, texts):
    cells = OrderedDict()
    for e, t in zip(problems, texts):
        tree = parse(e)
        ok = final_answer(t) == value(tree)
        k = n_ops(tree)
        for c in (("ops", k, ""), ("shape", k, shape_of(tree)), ("depth", k, "depth %d" % paren_depth(e))):
            n, c_ok = cells.get(c, (0, 0))
            cells[c] = (n + 1, c_ok + ok)
    return cells


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--per-cell", type=int, default=120)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()
    setup_torch(a.threads)
    problems = by_shape_problems(a.per_cell)
    log("by-shape set: %d held-out problems" % len(problems))
    report = {}
    for ck in a.ckpt.split(","):
        m, _ = load_ckpt(ck)
        texts = gen_all(m, problems)
        cells = table(problems, texts)
        rows = []
        for (kind, k, name), (n, ok) in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
            rows.append({"kind": kind, "ops": k, "cell": name, "n": n, "acc": round(ok / n, 4)})
        shape_rows = [r for r in rows if r["kind"] == "shape"]
        worst = min(shape_rows + [r for r in rows if r["kind"] == "depth"], key=lambda r: r["acc"])
        overall = sum(final_answer(t) == value(parse(e)) for e, t in zip(problems, texts)) / len(problems)
        uniform = sum(r["acc"] for r in shape_rows) / len(shape_rows)
        report[ck] = {"rows": rows, "set_accuracy": round(overall, 4), "shape_uniform_accuracy": round(uniform, 4),
                      "worst_cell": worst, "n": len(problems)}
        log("== %s: shape-uniform accuracy %.4f (mean over %d shapes), worst cell %s %.3f" % (
            ck, uniform, len(shape_rows), worst["cell"] or worst["ops"], worst["acc"]))
        for r in rows:
            log("  %d ops  %-6s %-22s n=%4d  acc %.3f" % (r["ops"], r["kind"], r["cell"], r["n"], r["acc"]))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
