#!/usr/bin/env python3
"""What half precision costs a posterior: compares two `gampen predict` outputs of the same
model, galaxies and seed, one in f32 and one with `--precision f16|bf16`.

For each parameter it prints the median over galaxies of |median_half - median_f32| in units
of the f32 posterior std, the same for the 95 % quantile of that shift, and the median ratio of
the posterior widths std_half / std_f32. Half precision draws its own dropout masks (f32 on
the CPU draws them on the host), so the shifts include the Monte-Carlo noise of T passes,
about 1/sqrt(T) of the epistemic spread; run the f32 prediction twice with different seeds
(`--seed`) for that noise floor.

    python3 tools/precision_cost.py pred_f32.csv pred_bf16.csv [pred_f32_seed1.csv]
"""
import csv
import statistics
import sys


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    params = [c[len("preds_"):-len("_median")] for c in rows[0] if c.startswith("preds_") and c.endswith("_median")]
    return rows, params


def compare(a_path, b_path):
    a, params = read(a_path)
    b, _ = read(b_path)
    out = {}
    for p in params:
        shifts, ratios = [], []
        for ra, rb in zip(a, b):
            sa, sb = float(ra[f"preds_{p}_std"]), float(rb[f"preds_{p}_std"])
            if sa > 0:
                shifts.append(abs(float(rb[f"preds_{p}_median"]) - float(ra[f"preds_{p}_median"])) / sa)
                ratios.append(sb / sa)
        shifts.sort()
        out[p] = (statistics.median(shifts), shifts[int(0.95 * (len(shifts) - 1))], statistics.median(ratios), len(shifts))
    return out


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    rows = [("half vs f32", compare(sys.argv[1], sys.argv[2]))]
    if len(sys.argv) == 4:
        rows.append(("f32 seed vs seed (noise floor)", compare(sys.argv[1], sys.argv[3])))
    print("| comparison | parameter | galaxies | median shift / std | 95th pct shift / std | median std ratio |")
    print("|---|---|---|---|---|---|")
    for name, res in rows:
        for p, (med, p95, ratio, n) in res.items():
            print(f"| {name} | {p} | {n} | {med:.3f} | {p95:.3f} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
