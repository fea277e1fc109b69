#!/usr/bin/env python3
"""Reference summaries of GaMPEN's result aggregator (run from the repository root).

    python3 tools/fixtures_gampen_summary.py

Writes fixtures/gampen_summary.json, read by the tests of src/posterior/gampen_kde.rs. Needs
numpy and scipy (no torch).

GaMPEN (github.com/aritraghsh09/GaMPEN, ggt/modules/result_aggregator.py) summarises the
Monte-Carlo draws of one parameter of one galaxy as follows; `reference` below redoes that
procedure step by step with the same scipy and numpy calls, written here from its description:

1. A Gaussian KDE, scipy.stats.gaussian_kde(draws): Scott's bandwidth factor n^(-1/5) times the
   sample standard deviation (ddof = 1).
2. A grid of 1000 points, numpy.linspace(min, max, 1000); the mode is the grid point where the
   KDE density is highest (numpy.argmax: the first one on ties).
3. The CDF at every grid point, kde.integrate_box_1d(-inf, x), with its first value set to
   exactly 0 and its last to exactly 1.
4. A window starts at the mode's index; each step moves the lower index down by one and the
   upper index up by one (each stops at its end of the grid) and records cdf[upper] -
   cdf[lower]; the walk ends when both indices sit at the ends.
5. For each level 0.6827, 0.9545, 0.9973 the step whose recorded mass is nearest the level
   (numpy.argmin of |mass - level|: the first one on ties) gives the interval (x[lower],
   x[upper]).
6. numpy.mean, numpy.median, numpy.std (ddof 0), scipy.stats.skew and scipy.stats.kurtosis
   (excess; both biased).

Each case stores its draws as decimal strings (repr, so they parse back to the same doubles),
the summary, the grid indices behind the mode and interval ends, and two robustness margins
that say how far the reference is from a different choice: the relative gap between the highest
and second-highest density, and per level the gap between the best and the second-best distinct
|mass - level|. A Rust implementation that agrees to a few ulps picks the same indices whenever
these margins are well above 1e-12.
"""
import json
import os

import numpy as np
import scipy
import scipy.stats

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LEVELS = [0.6827, 0.9545, 0.9973]
GRID = 1000


def reference(draws):
    """GaMPEN's aggregator summary of one array of draws, with the indices and margins."""
    draws = np.asarray(draws, dtype=np.float64)
    kde = scipy.stats.gaussian_kde(draws)
    x = np.linspace(np.min(draws), np.max(draws), GRID)
    pdf = kde.pdf(x)
    mode_index = int(np.argmax(pdf))
    cdf = np.array([kde.integrate_box_1d(-np.inf, v) for v in x])
    cdf[0] = 0.0
    cdf[-1] = 1.0

    lower = upper = mode_index
    steps = []
    while upper < GRID - 1 or lower > 0:
        upper = min(upper + 1, GRID - 1)
        lower = max(lower - 1, 0)
        steps.append((lower, upper, cdf[upper] - cdf[lower]))
    mass = np.array([s[2] for s in steps])

    intervals, indices, gaps, ties = [], [], [], []
    for level in LEVELS:
        distance = np.abs(mass - level)
        k = int(np.argmin(distance))
        lo, hi, _ = steps[k]
        intervals.append([float(x[lo]), float(x[hi])])
        indices.append([lo, hi])
        others = distance[distance != distance[k]]
        gaps.append(float(others.min() - distance[k]) if others.size else None)
        # Later steps with exactly the same distance: the first-on-ties rule decides.
        ties.append(int(np.count_nonzero(distance == distance[k]) - 1))

    top = np.sort(pdf)[::-1]
    return {
        "mode": float(x[mode_index]),
        "mode_index": mode_index,
        "intervals": intervals,
        "interval_indices": indices,
        "mean": float(np.mean(draws)),
        "median": float(np.median(draws)),
        "std": float(np.std(draws)),
        "skew": float(scipy.stats.skew(draws)),
        "kurtosis": float(scipy.stats.kurtosis(draws)),
        "bandwidth": float(np.sqrt(kde.covariance[0, 0])),
        "mode_margin": float((top[0] - top[1]) / top[0]),
        "level_margins": gaps,
        "level_ties": ties,
    }


def bt_like(rng, n, loc, scale):
    """B/T draws as GaMPEN's expit_custom gives them: logistic of normal draws, snapped to
    exactly 0 below half the smallest non-zero training B/T and to 1 above the mirror limit."""
    bt = 1.0 / (1.0 + np.exp(-rng.normal(loc, scale, n)))
    lower, upper = 0.02 / 2.0, 1.0 - (1.0 - 0.97) / 2.0
    bt[bt <= lower] = 0.0
    bt[bt >= upper] = 1.0
    return bt


def cases():
    rng = np.random.default_rng(20240614)
    yield "normal_500", rng.normal(2.0, 0.5, 500)
    yield "lognormal_radius_500", np.exp(rng.normal(0.3, 0.4, 500))
    yield "bimodal_500", np.concatenate([rng.normal(-1.0, 0.3, 320), rng.normal(1.5, 0.5, 180)])
    yield "bt_snapped_500", bt_like(rng, 500, -2.5, 2.0)
    yield "bt_snapped_both_ends_500", bt_like(rng, 500, 0.0, 3.5)
    yield "small_5", rng.normal(10.0, 3.0, 5)
    yield "small_2", np.array([0.25, 1.75])
    yield "gamma_1000", rng.gamma(2.0, 1.5, 1000)
    yield "flux_like_500", np.exp(rng.normal(np.log(3000.0), 0.15, 500))
    # A tight cluster plus a far outlier: the window's mass sits on a long flat stretch, and
    # the forced CDF end (mass 1 at the last step) competes with it for the 3-sigma level.
    yield "cluster_outlier_500", np.concatenate([rng.normal(0.0, 0.05, 499), [25.0]])
    # Equal draws at both ends: the mode is an end of the grid, so one side of the window
    # stops at once and only the other grows.
    yield "mode_at_edge_200", np.concatenate([np.zeros(120), rng.uniform(0.0, 1.0, 80)])


def main():
    out = {
        "generator": "tools/fixtures_gampen_summary.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "levels": LEVELS,
        "grid": GRID,
        "cases": [],
    }
    for name, draws in cases():
        case = {"name": name, "draws": [repr(float(v)) for v in draws]}
        case.update(reference(draws))
        out["cases"].append(case)
        print(
            f"{name:28s} n={len(draws):5d} mode_margin={case['mode_margin']:.2e} "
            f"level_margins={['%.1e' % g if g is not None else None for g in case['level_margins']]} "
            f"ties={case['level_ties']}"
        )
    path = os.path.join(ROOT, "fixtures", "gampen_summary.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
