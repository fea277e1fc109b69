#!/usr/bin/env bash
# The CPU table of docs/performance.md: per workload, in one invocation and in turn, flex
# (2 threads), PyTorch with 2 threads, flex on 1 thread, PyTorch on 1 thread, flex again.
# Prints bench_report's / bench_torch.py's JSON lines, each prefixed with its column.
# Needs `cargo build --workspace --examples` and `pip install torch torchvision`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/debug/examples/bench_report
for w in train_step_gampen_small:16:64 posterior_gampen_small:16:64 vgg16_forward:16:64 vgg16_forward:16:96 train_step_gampen_original:16:64; do
  $BIN flex --workloads $w | sed 's/^/flex2 /'
  python3 tools/bench_torch.py --device cpu --workloads $w | sed 's/^/torch2 /'
  RAYON_NUM_THREADS=1 $BIN flex --workloads $w | sed 's/^/flex1 /'
  python3 tools/bench_torch.py --device cpu --threads 1 --workloads $w | sed 's/^/torch1 /'
  $BIN flex --workloads $w | sed 's/^/flex2 /'
done
