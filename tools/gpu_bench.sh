#!/usr/bin/env bash
# Side-by-side GPU numbers (Burn wgpu vs PyTorch CUDA) on a lent GPU machine that has no cargo
# and no Vulkan loader. Two steps (docs/performance.md, "GPU"):
#
#   tools/gpu_bench.sh prepare          # here: build, strip and pack bench_report, fetch the
#                                       # Vulkan loader's Debian packages into .gpu/
#   tools/gpu_bench.sh run [ARGS...]    # there, from the repository root with .gpu/ carried:
#                                       # installs the loader, runs `bench_report wgpu ARGS`
#                                       # (default `--set gpu`) and the same set in PyTorch
#
# `run` writes the JSON lines to $OUT/gpu_bench.jsonl when $OUT is set (the device tool's
# output folder), and prints them either way. On a machine without NVIDIA's Vulkan driver it
# uses whatever Vulkan driver is installed (lavapipe here), which is how the script is tested.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the Vulkan loader needs on the GPU image (carrying libvulkan.so.1 alone is
# not enough: the loader then finds no driver).
DEBS="libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2"
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json

prepare() {
    # --workspace: reuses the test build of Burn (other package selections rebuild it).
    cargo build --workspace --examples
    mkdir -p .gpu/debs
    # Debug line tables make the binary ~650 MB; stripped and gzipped it fits a 64 MiB carry.
    strip -o .gpu/bench_report target/debug/examples/bench_report
    gzip -f .gpu/bench_report
    (cd .gpu/debs && apt-get download $DEBS)
    ls -la .gpu .gpu/debs
}

run() {
    local args=("$@")
    if [ ${#args[@]} -eq 0 ]; then args=(--set gpu); fi
    if [ -f "$NVIDIA_ICD" ]; then
        for f in .gpu/debs/*.deb; do dpkg -x "$f" /; done
        ldconfig
        export VK_DRIVER_FILES="$NVIDIA_ICD"
    fi
    local bin
    bin=$(mktemp)
    gzip -dc .gpu/bench_report.gz >"$bin"
    chmod +x "$bin"
    local dir=${OUT:-$(mktemp -d)}
    mkdir -p "$dir"
    local out=$dir/gpu_bench.jsonl
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$dir/device.txt"
    fi
    "$bin" wgpu "${args[@]}" | tee "$out"
    if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
        python3 tools/bench_torch.py --device cuda "${args[@]}" | tee -a "$out"
    else
        echo "no CUDA PyTorch here: only the wgpu numbers were taken" >&2
    fi
    echo "results: $out" >&2
}

case "${1:-}" in
prepare) prepare ;;
run) shift; run "$@" ;;
*)
    echo "usage: $0 prepare | run [bench_report arguments, default --set gpu]" >&2
    exit 2
    ;;
esac
