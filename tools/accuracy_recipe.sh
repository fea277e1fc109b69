#!/usr/bin/env bash
# The CPU accuracy recipe of docs/accuracy.md, end to end and seeded: simulate 24,000 galaxies,
# train the small preset from scratch with the calibration step, predict the held-out test
# split (3,555 galaxies) with 100 Monte-Carlo passes, and evaluate it before and after the
# calibration fitted on devel.
#
#   tools/accuracy_recipe.sh [OUT]        # default OUT: target/accuracy-recipe
#   SEED=1 tools/accuracy_recipe.sh OUT   # another training seed on the same galaxies
#
# Training time is printed (the budget is 60 minutes on 2 cores); the table is OUT/eval.txt.
# GAMPEN=path/to/gampen uses a binary already built; otherwise the debug CLI is built with
# `cargo build -p gampen-cli` (the workspace build's Burn is reused; see README).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/accuracy-recipe}
seed=${SEED:-0}
if [ -z "${GAMPEN:-}" ]; then
    cargo build -p gampen-cli
    GAMPEN=target/debug/gampen
fi
mkdir -p "$out"
data=$out/data24k

if [ ! -f "$data/info.csv" ]; then
    "$GAMPEN" simulate --out "$data" --count 24000 --seed 1
fi

start=$(date +%s)
"$GAMPEN" train --data "$data" --split balanced-dev --out "$out/run" \
    --preset small --optimizer adam --lr 1e-3 --final-lr-factor 0.02 --epochs 40 \
    --clip-grad-norm 1 --mean-loss mse --arsinh-softening noise --augment dihedral \
    --flux-anchor total_flux \
    --calibrate --calibration-passes 30 --calibration-orientations dihedral --seed "$seed" --no-resume
echo "training and calibration: $(($(date +%s) - start)) s"

rm -f "$out/pred.csv"
"$GAMPEN" predict --model "$out/run" --data "$data" --split balanced-dev-test \
    --out "$out/pred.csv" --passes 100 --orientations dihedral --no-calibration --seed 0
"$GAMPEN" evaluate --predictions "$out/pred.csv" --data "$data" --out "$out/eval" \
    --model "$out/run" --force | tee "$out/eval.txt"
