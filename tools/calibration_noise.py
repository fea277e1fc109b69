#!/usr/bin/env python3
"""How far test coverage after a devel-fitted calibration scatters, for a given model and
split sizes: the noise floor of "calibrated to within N points".

    tools/calibration_noise.py DEVEL.csv TEST.csv [--n-devel N] [--rounds R]

DEVEL.csv and TEST.csv are raw predictions (`gampen predict --no-calibration`) of the devel
and test splits, with the true values in their columns (as `gampen predict` writes them for
simulated data). Each round pools the galaxies, draws a devel sample of N (default: the size of
DEVEL.csv), fits each parameter's factor at each level as `CalibrationScale::fit_summaries`
does (the level's quantile of the distance from the median in half-widths), and measures the
coverage of the rest. It prints the spread of that coverage, the binomial expectation
sqrt(p (1 - p) (1/n_devel + 1/n_test)) beside it, and how often a parameter lands more than 5
points from nominal. Standard library only.
"""
import argparse
import csv
import math
import random
import statistics

LEVELS = [("68", 0.6827), ("95", 0.9545), ("99", 0.9973)]


def distances(rows, p, level):
    out = []
    for r in rows:
        t = float(r[p])
        m = float(r[f"preds_{p}_median"])
        lo = float(r[f"preds_{p}_lo{level}"])
        hi = float(r[f"preds_{p}_hi{level}"])
        w = (hi - m) if t >= m else (m - lo)
        out.append(abs(t - m) / w if w > 0 else math.inf)
    return out


def column_names(p):
    names = [p, f"preds_{p}_median"]
    return names + [f"preds_{p}_{side}{level}" for level, _ in LEVELS for side in ("lo", "hi")]


def read(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise SystemExit(f"error: {path}: {e.strerror}")
    if not rows:
        raise SystemExit(f"error: {path} has no galaxies")
    return rows


def quantile(sorted_values, f):
    return sorted_values[min(len(sorted_values) - 1, int(f * len(sorted_values)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("devel")
    ap.add_argument("test")
    ap.add_argument("--n-devel", type=int)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    devel, test = read(a.devel), read(a.test)
    n_dev = len(devel) if a.n_devel is None else a.n_devel
    n_all = len(devel) + len(test)
    if not 0 < n_dev < n_all:
        raise SystemExit(f"error: --n-devel must be between 1 and {n_all - 1}")
    params = [c[len("preds_"):-len("_median")] for c in devel[0] if c.endswith("_median")]
    for path, rows in ((a.devel, devel), (a.test, test)):
        missing = [c for p in params for c in column_names(p) if c not in rows[0]]
        if missing:
            raise SystemExit(f"error: {path} has no column {missing[0]} (raw predictions with "
                             "the true values, as `gampen predict` writes for simulated data)")
    print(f"{len(devel)} devel + {len(test)} test galaxies, refit on {n_dev}, "
          f"measured on {n_all - n_dev}, {a.rounds} rounds")
    print("parameter   level  sd (points)  binomial  2.5-97.5 %      P(off by > 5 points)")
    for p in params:
        for level, nominal in LEVELS:
            pooled = distances(devel, p, level) + distances(test, p, level)
            rng = random.Random(a.seed)
            cov = []
            for _ in range(a.rounds):
                rng.shuffle(pooled)
                factor = quantile(sorted(pooled[:n_dev]), nominal)
                rest = pooled[n_dev:]
                cov.append(sum(d <= factor for d in rest) / len(rest))
            cov.sort()
            sd = statistics.pstdev(cov)
            binom = math.sqrt(nominal * (1 - nominal) * (1 / n_dev + 1 / (n_all - n_dev)))
            off = sum(abs(c - nominal) > 0.05 for c in cov) / len(cov)
            lo, hi = quantile(cov, 0.025), quantile(cov, 0.975)
            print(f"{p:11s} {100 * nominal:5.2f}  {100 * sd:11.1f}  {100 * binom:8.1f}  "
                  f"[{100 * lo:5.1f}, {100 * hi:5.1f}]  {100 * off:8.1f} %")


if __name__ == "__main__":
    main()
