#!/usr/bin/env bash
# The one-command GPU table (docs/performance.md, "GPU"): Burn on wgpu (WGSL) and on Vulkan
# (SPIR-V), f32 and half precision, against PyTorch CUDA (f32 and autocast), on a lent GPU
# machine that has no cargo and no Vulkan loader. Two steps:
#
#   tools/gpu_bench.sh prepare          # here: build, strip and pack bench_report, fetch the
#                                       # Vulkan loader's Debian packages into .gpu/
#   tools/gpu_bench.sh run [ARGS...]    # there, from the repository root with .gpu/ carried:
#                                       # installs the loader, runs every sweep below with
#                                       # ARGS (default `--set gpu`), prints the ratio table
#
# Each sweep (one backend at one precision over the set) runs under `timeout`: $TORCH_SWEEP_S
# (default 40 s) for each of PyTorch's three, $SWEEP_S (default 60 s) for each of Burn's five
# (WGSL has no bf16, so wgpu runs f32 and f16), and each case starts no new run after
# --budget-s 5 s: the whole command stays within 7 minutes however slow a backend is; rows a
# sweep did not reach are empty in the table. Burn's warm-up runs absorb autotune (3 runs by default on a GPU).
#
# `run` writes the JSON lines to $OUT/gpu_bench.jsonl and the table to $OUT/gpu_table.md
# when $OUT is set (the device tool's output folder), and prints them either way. On a
# machine without NVIDIA's Vulkan driver it uses whatever Vulkan driver is installed (lavapipe
# here), which is how the script is tested (lavapipe compiles and autotunes for minutes before
# a first row, so the sweeps there end by their time limit with few rows or none):
#   SWEEP_S=60 tools/gpu_bench.sh run --workloads posterior_gampen_small:2:64 --reps 1 --warmup 1
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
    # Stripped of our crates' line tables and gzipped, each fits a 64 MiB carry.
    strip -o .gpu/bench_report target/debug/examples/bench_report
    gzip -f .gpu/bench_report
    # The SPIR-V build: with `vulkan`, CubeCL compiles every Vulkan kernel to SPIR-V (so the
    # WGSL rows need the binary above). A second feature set: Burn builds again (~25 min).
    cargo build --workspace --examples --features gampen/vulkan
    strip -o .gpu/bench_report_vulkan target/debug/examples/bench_report
    gzip -f .gpu/bench_report_vulkan
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
    local bin spirv
    bin=$(mktemp)
    spirv=$(mktemp)
    gzip -dc .gpu/bench_report.gz >"$bin"
    gzip -dc .gpu/bench_report_vulkan.gz >"$spirv"
    chmod +x "$bin" "$spirv"
    local dir=${OUT:-$(mktemp -d)}
    mkdir -p "$dir"
    local out=$dir/gpu_bench.jsonl
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$dir/device.txt"
    fi
    : >"$out"
    local sweep=${SWEEP_S:-60} torch_sweep=${TORCH_SWEEP_S:-40}
    if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
        for p in f32 bf16 f16; do
            timeout "$torch_sweep" python3 tools/bench_torch.py --device cuda --precision "$p" \
                --budget-s 5 "${args[@]}" | tee -a "$out" || echo "torch $p: stopped" >&2
        done
    else
        echo "no CUDA PyTorch here: only the burn numbers were taken" >&2
    fi
    for sweep_of in wgpu:f32 wgpu:f16 vulkan:f32 vulkan:f16 vulkan:bf16; do
        local backend=${sweep_of%%:*} p=${sweep_of##*:} exe=$bin
        if [ "$backend" = vulkan ]; then exe=$spirv; fi
        timeout "$sweep" "$exe" "$backend" --precision "$p" --budget-s 5 "${args[@]}" \
            | tee -a "$out" || echo "burn $backend $p: stopped" >&2
    done
    python3 tools/gpu_table.py "$out" | tee "$dir/gpu_table.md"
    echo "results: $out" >&2
}

case "${1:-}" in
prepare) prepare ;;
run) shift; run "$@" ;;
*)
    echo "usage: $0 prepare | run [bench_report/bench_torch arguments, default --set gpu]" >&2
    exit 2
    ;;
esac
