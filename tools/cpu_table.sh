#!/usr/bin/env bash
# The CPU table of docs/performance.md: per workload, in one invocation and in turn, flex
# (2 threads), PyTorch with 2 threads, flex on 1 thread, PyTorch on 1 thread, flex again.
# Prints bench_report's / bench_torch.py's JSON lines, each prefixed with its column.
# Needs `cargo build --workspace --examples` and `pip install torch torchvision`.
# WORKLOADS (space-separated name:batch:size) and REPS (default 5) override the defaults;
# each tool stops starting calls after 20 s on one case (`--budget-s`), so the original
# model's posterior (17-35 s a call) gets one warm-up and one timed call.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/debug/examples/bench_report
REPS=${REPS:-5}
WORKLOADS=${WORKLOADS:-"train_step_gampen_small:16:64 posterior_gampen_small:16:64 vgg16_forward:16:64 vgg16_forward:16:96 train_step_gampen_original:16:64 posterior_gampen_original:16:64"}
for w in $WORKLOADS; do
  $BIN flex --workloads "$w" --reps "$REPS" | sed 's/^/flex2 /'
  python3 tools/bench_torch.py --device cpu --workloads "$w" --reps "$REPS" | sed 's/^/torch2 /'
  RAYON_NUM_THREADS=1 $BIN flex --workloads "$w" --reps "$REPS" | sed 's/^/flex1 /'
  python3 tools/bench_torch.py --device cpu --threads 1 --workloads "$w" --reps "$REPS" | sed 's/^/torch1 /'
  $BIN flex --workloads "$w" --reps "$REPS" | sed 's/^/flex2 /'
done
