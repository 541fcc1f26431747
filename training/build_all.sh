#!/usr/bin/env bash
# Rebuild the embedded model suite from fixed seeds: draft, target, router, prm -> models/*.gguf,
# test fixtures (test/fixtures/models/) and models/manifest.json. Recipe and timings: training/README.md.
# Needs Debian's python3-torch (/usr/bin/python3) and, for the speed figure, node + node_modules.
# CPU only, ~2 h on 2 idle cores. Logs and checkpoints: training/.cache/
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1   # torch's BLAS (Debian: the libblas.so.3 alternative; see training/README.md)
mkdir -p .cache
LM="$PY train_lm.py --eval-every 1000000"
LM1="$LM --sampler v1"

# 1. pre-training on the wider family (intermediate values <= 999), draft and target side by side:
#    draft 2x64 (1 thread); target starts as 4x192 (1 thread, 2 once the draft is done).
echo 1 > .cache/target_small.threads
$LM1 --role draft --layers 2 --d 64 --heads 2 --ff 192 --steps 4000 --batch 64 --lr 3e-3 --warmup 100 \
    --seed 1 --threads 1 --max-value 999 --max-ops 5 --held-n 1000 > .cache/draft.log 2>&1 &
DRAFT_PID=$!
$LM1 --role target_small --layers 4 --d 192 --heads 3 --ff 512 --steps 6000 --batch 32 --lr 2e-3 --warmup 100 \
    --seed 2 --threads 1 --threads-file .cache/target_small.threads --max-value 999 --max-ops 5 --held-n 1000 \
    > .cache/target_small.log 2>&1 &
TS_PID=$!
wait $DRAFT_PID
echo 2 > .cache/target_small.threads
wait $TS_PID
cp .cache/draft.pt .cache/draft.final.pt
cp .cache/target_small.pt .cache/target_small.phase1.pt

# 2. the target continues on values <= 99 (still 2..5 operations)
$LM1 --role target_small_n --layers 4 --d 192 --heads 3 --ff 512 --init .cache/target_small.phase1.pt \
    --steps 3000 --batch 32 --lr 1e-3 --warmup 50 --seed 4 --threads 2 --max-value 99 --max-ops 5 \
    > .cache/target_small_n.log 2>&1

# 3. grow the target to 8x256 (function-preserving up to RMSNorm eps) and train it at full size
$PY grow.py .cache/target_small_n.pt .cache/target.grown.pt --layers 8 --d 256 --heads 4 --ff 704
$LM1 --role target --layers 8 --d 256 --heads 4 --ff 704 --init .cache/target.grown.pt \
    --steps 300 --batch 32 --lr 5e-4 --warmup 20 --seed 5 --threads 1 --max-value 99 --max-ops 5 \
    > .cache/target.log 2>&1
cp .cache/target.pt .cache/target.final.pt

# 3b. issue 14: both fine-tuned on the shape-uniform family (1..3 operations, values <= 99; task.gen_problem
#     draws the op count, then the tree shape uniformly), skipping common.reserved_problems. Time-boxed with
#     --stop-after (the lr schedule follows --steps); common.TRAIN_STREAMS replays exactly these streams.
$LM --role draft_ft --layers 2 --d 64 --heads 2 --ff 192 --init .cache/draft.final.pt \
    --steps 600 --stop-after 400 --batch 64 --lr 1e-3 --warmup 20 --seed 21 --threads 1 --max-value 99 --max-ops 3 \
    > .cache/draft_ft.log 2>&1
#     The target: 300 steps of a planned 1000 on the uniform family (1-op questions learnt, but the
#     right-nested 3-op shapes got worse), then 700 steps on the focus mix (half uniform, half the
#     right-nested 3-op shapes; task.gen_problem_focus).
$LM --role target_ft1 --layers 8 --d 256 --heads 4 --ff 704 --init .cache/target.final.pt \
    --steps 1000 --stop-after 300 --batch 32 --lr 4e-4 --warmup 20 --seed 22 --threads 1 --max-value 99 --max-ops 3 \
    > .cache/target_ft1.log 2>&1
$LM --role target_ft2 --sampler focus --layers 8 --d 256 --heads 4 --ff 704 --init .cache/target_ft1.pt \
    --steps 700 --batch 32 --lr 3.5e-4 --warmup 10 --seed 23 --threads 1 --max-value 99 --max-ops 3 \
    > .cache/target_ft2.log 2>&1
cp .cache/draft.final.pt .cache/draft.imported.pt   # the pre-issue-14 models, for the by-shape "before" table
cp .cache/target.final.pt .cache/target.imported.pt
cp .cache/draft_ft.pt .cache/draft.final.pt
cp .cache/target_ft2.pt .cache/target.final.pt
$PY by_shape.py --ckpt .cache/target.imported.pt,.cache/draft.imported.pt --json-out .cache/by-shape-before.json \
    > .cache/by-shape-before.log 2>&1
$PY by_shape.py --ckpt .cache/target.final.pt,.cache/draft.final.pt --json-out .cache/by-shape-final.json \
    > .cache/by-shape-final.log 2>&1

# 4. step-by-step rollouts on the task family (oracle policy + 25% draft-only) for router / prm data
$PY build_oracle.py --split train --n 12000 --draft-frac 0.25 --seed 11 --threads 1 \
    --out .cache/oracle-train.jsonl > .cache/oracle-train.log 2>&1
$PY build_oracle.py --split heldout --n 600 --offset 1000 --draft-frac 0.25 --seed 12 --threads 1 \
    --out .cache/oracle-heldout.jsonl > .cache/oracle-heldout.log 2>&1
#    4b. 24,000 more training problems (never those above), two disjoint shards of one list side by side
for s in 0 1; do
  $PY build_oracle.py --split train --n 24000 --draft-frac 0.25 --seed 13 --threads 1 \
      --exclude .cache/oracle-train.jsonl --shard $s/2 --out .cache/oracle-extra-$s.jsonl > .cache/oracle-extra-$s.log 2>&1 &
done
wait

# 5. router and prm (2x64, initialised from the fine-tuned draft), same data, epochs and selection
#    (validation ROC-AUC on a 10% split of the training rollouts, by problem)
for spec in router:20 prm:20; do
  role=${spec%:*}
  $PY train_cls.py --role $role --train .cache/oracle-train.jsonl --heldout .cache/oracle-heldout.jsonl \
      --init .cache/draft.final.pt --epochs ${spec#*:} --batch 64 --lr 1e-3 --threads 1 --evals 20 > .cache/$role.log 2>&1
done
#    and both continue, side by side, 4 more epochs on those rollouts plus the extra ones (training side only:
#    the validation split and the selection stay the same)
for role in router prm; do
  $PY train_cls.py --role $role --train .cache/oracle-train.jsonl \
      --extra .cache/oracle-extra-0.jsonl,.cache/oracle-extra-1.jsonl --heldout .cache/oracle-heldout.jsonl \
      --init .cache/$role.final.pt --epochs 4 --batch 64 --lr 3e-4 --threads 1 --evals 12 \
      --out .cache/$role.more.pt > .cache/$role.more.log 2>&1 &
done
wait
cp .cache/router.more.pt .cache/router.final.pt
cp .cache/prm.more.pt .cache/prm.final.pt
# 5b. the router's validation split as rows, for its confidence mix (6b)
$PY validation_rows.py > .cache/router-validation.log 2>&1
$PY router_scores.py > .cache/router-scores.log 2>&1   # held-out router scores + draft confidences, logistic combination

# 6. export GGUF (F32), speed, fixtures, manifest, bench problem sets
for r in draft target router prm; do $PY export.py .cache/$r.final.pt $r; done
# 6b. the draft's token confidences mixed into the router and its logit offset, fitted on the validation split
#     through the real GGUFs (fit-router-mix.ts: threshold 0.3 leaves a step the target improves below it in
#     at most 1% of the validation problems), written into router.gguf's arbitrage.classifier.* metadata
(cd .. && node --import tsx training/fit-router-mix.ts --heldout training/.cache/oracle-heldout.jsonl \
    > training/.cache/router-mix.log 2>&1)
$PY export.py .cache/router.final.pt router --mix .cache/router-mix.json
#     the same for the PRM, with its own label (the draft step's correctness; issue 14's fair rsd): the mix applies to
#     the draft steps rsd judges, its intercept is stored apart (mix_offset), and the plain score is unchanged
(cd .. && node --import tsx training/fit-router-mix.ts --role prm --heldout training/.cache/oracle-heldout.jsonl \
    > training/.cache/prm-mix.log 2>&1)
$PY export.py .cache/prm.final.pt prm --mix .cache/prm-mix.json
(cd .. && node training/measure-speed.mjs --threads 1 --json-out training/.cache/speed.json \
    models/draft.gguf models/target.gguf) || true
$PY make_fixtures.py
$PY ../bench/make-problems.py
echo "done: models/*.gguf, models/manifest.json, test/fixtures/models/*.jsonl, bench/problems/*.jsonl"
