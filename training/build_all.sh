#!/usr/bin/env bash
# Rebuild the embedded model suite from fixed seeds: draft, target, router, prm -> models/*.gguf,
# test fixtures (test/fixtures/models/) and models/manifest.json. Recipe and timings: training/README.md.
# Needs Debian's python3-torch (/usr/bin/python3) and, for the speed figure, node + node_modules.
# CPU only, ~1.5 h on 2 idle cores. Logs and checkpoints: training/.cache/
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
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

# 4. step-by-step rollouts on the task family (values <= 99, 2..3 operations; oracle policy + 25%
#    draft-only) for router / prm data
$PY build_oracle.py --split train --n 8000 --draft-frac 0.25 --seed 11 --threads 1 \
    --out .cache/oracle-train.jsonl > .cache/oracle-train.log 2>&1 &
O_PID=$!
$PY build_oracle.py --split heldout --n 300 --offset 200 --draft-frac 0.25 --seed 12 --threads 1 \
    --out .cache/oracle-heldout.jsonl > .cache/oracle-heldout.log 2>&1
wait $O_PID

# 5. router and prm (2x64, initialised from the draft checkpoint), side by side
$PY train_cls.py --role router --train .cache/oracle-train.jsonl --heldout .cache/oracle-heldout.jsonl \
    --init .cache/draft.final.pt --epochs 5 --batch 64 --lr 1e-3 --threads 1 > .cache/router.log 2>&1 &
R_PID=$!
$PY train_cls.py --role prm --train .cache/oracle-train.jsonl --heldout .cache/oracle-heldout.jsonl \
    --init .cache/draft.final.pt --epochs 5 --batch 64 --lr 1e-3 --threads 1 > .cache/prm.log 2>&1 &
P_PID=$!
wait $R_PID $P_PID

# 6. export GGUF (F32), speed, fixtures, manifest
for r in draft target router prm; do $PY export.py .cache/$r.final.pt $r; done
(cd .. && node training/measure-speed.mjs --threads 1 --json-out training/.cache/speed.json \
    models/draft.gguf models/target.gguf) || true
$PY make_fixtures.py
echo "done: models/*.gguf, models/manifest.json, test/fixtures/models/*.jsonl"
