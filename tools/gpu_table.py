#!/usr/bin/env python3
"""The ratio table of a GPU benchmark run: reads the JSON lines of `bench_report` and
`tools/bench_torch.py` (tools/gpu_bench.sh writes them to gpu_bench.jsonl) and prints a
Markdown table, one row per workload/batch/size, with each burn backend's milliseconds and its
ratio to PyTorch at the same precision (burn / torch: below 1 is faster than PyTorch).

    python3 tools/gpu_table.py gpu_bench.jsonl
"""
import json
import sys
from collections import defaultdict


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def table(rows):
    ms = defaultdict(dict)  # (workload, batch, size) -> {(backend, precision): ms or error}
    for r in rows:
        key = (r["workload"], r["batch"], r["size"])
        ms[key][(r["backend"], r.get("precision", "f32"))] = r.get("ms", r.get("error"))
    columns = sorted({c for v in ms.values() for c in v}, key=lambda c: (c[1], c[0]))
    burn = [c for c in columns if not c[0].startswith("torch")]
    head = ["workload", "batch", "size"]
    head += [f"{b} {p} ms" for b, p in columns]
    head += [f"{b} {p} / torch" for b, p in burn]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in sorted(ms):
        cells = [str(k) for k in key]
        for c in columns:
            v = ms[key].get(c)
            cells.append(f"{v:.2f}" if isinstance(v, (int, float)) else ("error" if v else ""))
        for b, p in burn:
            mine = ms[key].get((b, p))
            torch = ms[key].get(("torch-cuda", p))
            ok = isinstance(mine, (int, float)) and isinstance(torch, (int, float))
            cells.append(f"{mine / torch:.2f}x" if ok else "")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(table(load(sys.argv[1])))
