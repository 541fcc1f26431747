"""Write the test fixtures and models/manifest.json from the final checkpoints (PyTorch side).

- test/fixtures/models/greedy.jsonl: first 200 held-out problems with draft and target greedy texts
- test/fixtures/models/oracle-heldout.jsonl: held-out oracle rows (rollouts on held-out problems) with
  the PyTorch router / prm probabilities
- models/manifest.json: per file role, params, dims, sha256, measured figures
usage: python make_fixtures.py --oracle-heldout .cache/oracle-heldout.jsonl [--max-oracle 600]
"""
import argparse
import hashlib
import json
import os
import random

from common import CACHE, FIXTURES, MODELS, eval_problems, log, setup_torch
from eval_lm import accuracy, gen_all
from export import load_ckpt
from train_cls import QUERY, auc, encode_ex, metrics, predict
from task import parse, value


# How each committed model came to be (build_all.sh; training/README.md has the figures per stage).
LINEAGE = {
    "draft": {"lineage": "2x64: 4000 steps on values<=999, 2-5 ops (v1 sampler); fine-tuned 400 steps x 64 (of a 600-step "
                         "cosine schedule) on the shape-uniform family (1-3 ops, values<=99)"},
    "target": {"lineage": "4x192 (1,870,272 params) 6000 steps on values<=999, 2-5 ops; 3000 steps on values<=99, 2-5 ops; "
                          "grown to 8x256 (grow.py, exact, rms eps 7.5e-6); 300 steps at 8x256; fine-tuned 300 steps "
                          "x 32 on the shape-uniform family (1-3 ops, values<=99), then 700 steps x 32 on the focus mix "
                          "(half uniform, half right-nested 3-op shapes)", "rms_eps": 7.5e-06},
    "router": {"lineage": "initialised from the fine-tuned draft; 20 epochs on 38,151 rollout rows (12,000 problems of "
                          "the shape-uniform family), selection on validation ROC-AUC; the draft's token confidences mixed in and the logit "
                          "offset calibrated on the validation split (fit-router-mix.ts: threshold 0.3 leaves a step the "
                          "target improves below it in at most 1% of the validation problems); then 4 more epochs (lr 3e-4 cosine, class-balanced) on "
                          "those rollouts plus 24,000 more training problems (79,368 rows), selection on the same "
                          "validation split"},
    "prm": {"lineage": "initialised from the fine-tuned draft; 20 epochs on the same rollouts (draft and target steps), "
                       "selection on validation ROC-AUC; then 4 more epochs (lr 3e-4 cosine) on those rollouts plus 24,000 "
                       "more training problems (79,368 rows), selection on the same validation split; the draft's token "
                       "confidences mixed in for the draft steps rsd judges, fitted on the router's validation split with the "
                       "PRM's own label (fit-router-mix.ts --role prm; its own intercept mix_offset, the plain score unchanged)"},
}


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--oracle-heldout", default=os.path.join(CACHE, "oracle-heldout.jsonl"))
    ap.add_argument("--max-oracle", type=int, default=600)
    ap.add_argument("--n-greedy", type=int, default=200)
    ap.add_argument("--n-acc", type=int, default=1000, help="held-out problems for the reported accuracy")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    setup_torch(a.threads)
    os.makedirs(FIXTURES, exist_ok=True)
    ck = {r: load_ckpt(os.path.join(CACHE, r + ".final.pt")) for r in ("draft", "target", "router", "prm")}
    figures = {}

    held = eval_problems()
    texts = {r: gen_all(ck[r][0], held[:a.n_acc]) for r in ("draft", "target")}
    for r in ("draft", "target"):
        figures[r] = {"accuracy_heldout_%d" % a.n_acc: round(accuracy(held[:a.n_acc], texts[r]), 4),
                      "accuracy_fixture_%d" % a.n_greedy: round(accuracy(held[:a.n_greedy], texts[r][:a.n_greedy]), 4)}
        log(r, figures[r])
    with open(os.path.join(FIXTURES, "greedy.jsonl"), "w") as f:
        for i, e in enumerate(held[:a.n_greedy]):
            f.write(json.dumps({"problem": e, "answer": value(parse(e)), "draft": texts["draft"][i],
                                "target": texts["target"][i]}) + "\n")

    with open(a.oracle_heldout) as f:
        rows = [json.loads(l) for l in f if l.strip()]
    all_rows = rows
    # fixture: all router positives plus a random sample of the rest, capped
    rng = random.Random(7)
    if len(rows) > a.max_oracle:
        rows = rng.sample(rows, a.max_oracle)
        rows.sort(key=lambda r: (r["problem"], len(r["context"])))
    # classifier figures on the full held-out oracle set
    for role in ("router", "prm"):
        model = ck[role][0]
        full = []
        for r in all_rows:
            full.append((r["context"], r["draft_step"], r["router_label"] if role == "router" else r["draft_score"]))
            if role == "prm" and r["target_step"] != r["draft_step"]:
                full.append((r["context"], r["target_step"], r["target_score"]))
        enc = [encode_ex(e) for e in full]
        m = metrics(predict(model, enc), [y for _, y in enc])
        figures[role] = {"heldout_oracle": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}}
        log(role, "full held-out oracle", m)
    rp = predict(ck["router"][0], [encode_ex((r["context"], r["draft_step"], 0)) for r in rows])
    pd = predict(ck["prm"][0], [encode_ex((r["context"], r["draft_step"], 0)) for r in rows])
    pt = predict(ck["prm"][0], [encode_ex((r["context"], r["target_step"], 0)) for r in rows])
    with open(os.path.join(FIXTURES, "oracle-heldout.jsonl"), "w") as f:
        for r, a1, b1, c1 in zip(rows, rp, pd, pt):
            out = {k: r[k] for k in ("problem", "policy", "context", "draft_step", "target_step", "draft_score",
                                     "target_score", "advantage", "router_label")}
            out.update({"router_p": a1, "prm_p_draft": b1, "prm_p_target": c1})
            f.write(json.dumps(out) + "\n")
    ys = [r["router_label"] for r in rows]
    figures["router"]["fixture"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics(rp, ys).items()}
    pys, pps = [], []
    for r, b1, c1 in zip(rows, pd, pt):
        pys.append(r["draft_score"]); pps.append(b1)
        if r["target_step"] != r["draft_step"]:
            pys.append(r["target_score"]); pps.append(c1)
    figures["prm"]["fixture"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics(pps, pys).items()}
    log("fixture figures", json.dumps({k: figures[k].get("fixture") for k in ("router", "prm")}))

    by_shape = {}
    path = os.path.join(CACHE, "by-shape-final.json")
    if os.path.exists(path):  # by_shape.py --ckpt .cache/target.final.pt,.cache/draft.final.pt
        with open(path) as f:
            for ck_path, rep in json.load(f).items():
                role = os.path.basename(ck_path).split(".")[0]
                by_shape[role] = {"shape_uniform_accuracy": rep["shape_uniform_accuracy"], "n": rep["n"],
                                  "cells": {"%d ops %s" % (r["ops"], r["cell"] or "all"): r["acc"] for r in rep["rows"]}}
    manifest = {"task": "embedded arithmetic task: Q: <expr>, values <= 99, 1-3 operations, shapes drawn uniformly "
                        "(training/README.md)", "tokenizer": "byte-level, 258 tokens, BOS 256, EOS 257",
                "weights": "F32", "context_length": 256, "models": []}
    old_manifest = os.path.join(MODELS, "manifest.json")
    previous = {}
    if os.path.exists(old_manifest):
        with open(old_manifest) as f:
            previous = json.load(f)
    old_entries = {e["role"]: e for e in previous.get("models", [])}
    for role in ("draft", "target", "router", "prm"):
        model, c = ck[role]
        p = os.path.join(MODELS, role + ".gguf")
        entry = {"file": "models/%s.gguf" % role, "role": role, "params": model.n_params(),
                 "layers": model.c.n_layer, "d_model": model.c.d_model, "heads": model.c.n_head, "d_ff": model.c.d_ff,
                 "bytes": os.path.getsize(p), "sha256": sha256(p), "train_steps": c.get("step"),
                 "train_seconds": round(c.get("elapsed", 0)), "figures": figures[role]}
        if role in ("router", "prm"):
            entry["classifier"] = {"query": QUERY, "positive": "Y", "negative": "N",
                                   "input": "BOS + context + step (no trailing blank line) + query",
                                   "output": "sigmoid(logit[Y] - logit[N]) at the last position"}
            if c.get("offset") is not None:  # fit-router-mix.ts (fixtures keep the raw probability)
                entry["classifier"]["offset"] = c["offset"]
                entry["classifier"]["output"] = "sigmoid(logit[Y] - logit[N] + offset) at the last position"
            if c.get("mix"):  # fit-router-mix.ts: the draft's token confidences as extra input
                entry["classifier"]["logit_scale"] = c["mix"]["logit_scale"]
                entry["classifier"]["confidence"] = c["mix"]["confidence"]
                mix_offset = c["mix"].get("mix_offset")
                if mix_offset is not None:
                    entry["classifier"]["mix_offset"] = mix_offset
                entry["classifier"]["output"] = ("sigmoid(logit_scale * (logit[Y] - logit[N]) + sum(confidence[f] * f) + %s) "
                                                 "at the last position, f = the draft step's confidence features "
                                                 "(src/engine/calibration/logistic.ts)%s" % (
                                                     "offset" if mix_offset is None else "mix_offset",
                                                     "" if mix_offset is None else
                                                     "; a step without them: sigmoid(logit[Y] - logit[N]) at the last position"))
                if c["mix"].get("report"):
                    entry["figures"]["mix"] = c["mix"]["report"]
            entry["init"] = c["args"].get("init") and os.path.basename(c["args"]["init"])
        old = old_entries.get(role)
        if old and (old.get("sha256") == entry["sha256"] or c.get("step") is None):
            # The same file as before, or a checkpoint imported from the committed GGUF by import_gguf.py (no
            # training record; re-exported with new metadata, e.g. a confidence mix): keep what the earlier run
            # measured and this one cannot.
            if c.get("step") is None:
                for k in ("train_steps", "train_seconds", "init"):
                    if k in old:
                        entry[k] = old[k]
            for k, v in old.get("figures", {}).items():
                entry["figures"].setdefault(k, v)
        entry.update(LINEAGE.get(role, {}))
        if role in by_shape:
            entry["figures"]["by_shape"] = by_shape[role]
        manifest["models"].append(entry)
    extra = os.path.join(CACHE, "speed.json")
    if os.path.exists(extra):
        with open(extra) as f:
            manifest["speed"] = json.load(f)
    elif previous.get("speed"):  # no new speed run: keep the last measured figures (their date says when)
        manifest["speed"] = previous["speed"]
    with open(os.path.join(MODELS, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    log("wrote fixtures and manifest")


if __name__ == "__main__":
    main()
