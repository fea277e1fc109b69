#!/usr/bin/env python3
"""PyTorch reference for importing a *published* GaMPEN model with its scaling data
(`gampen::import::published`, `gampen import --published`).

Run from the repository root: `python3 tools/fixtures_published.py` (needs torch,
torchvision, numpy, pandas, scikit-learn, scipy). Writes fixtures/published/:

- `sim_i_050_075_narrow.pt`: GaMPEN's `vgg16_w_stn_oc_drp` at cutout 96 with the published
  model's dropout rate (0.0004, `sim_i_050_075`), saved through `nn.DataParallel` (keys start
  with `module.`), as GaMPEN distributes its models. The layer layout and key names are the
  published ones; the widths are narrow (convs 1/32 of VGG-16's, classifier 16-16,
  localisation 4 and 6 channels) so that the file stays small. The network is built by
  tools/fixtures_import.py's `VggWStn` (same construction as the original's ggt/models/).
- `scaling/`: a small `scaling_data_dir` as GaMPEN distributes one: `info.csv` with the raw
  and transformed label columns (some B/T exactly 0 and 1), `splits/balanced-dev-{train,
  devel,test}.csv`.
- `reference.json`: what GaMPEN's inference + aggregation steps give, computed here with the
  libraries GaMPEN itself uses:
  - `scaler`: scikit-learn `StandardScaler` fitted on the target columns of
    `splits/balanced-dev-train.csv` (read with pandas), as GaMPEN's inference module does for
    `--label_scaling std`, and the B/T snap limits `expit_custom` derives from `info.csv`'s
    `bt` column (the aggregator's `scaling_df_path`).
  - `means`: dropout off, the network's first three outputs (the means) for four cutouts,
    unscaled by `StandardScaler.inverse_transform`, then `expit` with GaMPEN's snapping for
    B/T and `exp` for R_e and flux: B/T, R_e in arcsec, flux in ADU.
  - `snap`: scaled B/T values chosen around both snap limits and the unscaled B/T GaMPEN's
    procedure gives for each (exactly 0 or 1 when snapped).
  - `mc`: Monte-Carlo dropout at the published rate (dropout layers in train mode, the rest in
    eval mode, as GaMPEN's `enable_dropout`; every dropout layer at the published rate, as its
  `specify_dropout_rate`), 4000 passes: mean, std and fourth central
    moment of every raw output, for a statistical comparison (the same masks are impossible
    across frameworks).

Inputs come from the `lcg` generator (image i multiplied by i + 1) that tests/published.rs
reimplements bit for bit.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from scipy.special import expit
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures_import as fi  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "published")
PRESET = "sim_i_050_075"
CUTOUT = 96
DROPOUT = 0.0004
SLUG = "balanced-dev"
TARGETS = ["custom_logit_bt", "ln_R_e_asec", "ln_total_flux_adus"]
SIZE = (1 / 32, 16, (4, 6))
N_IMAGES = 4
MC_PASSES = 4000


def expit_custom_like_gampen(x, bt_all):
    """GaMPEN's aggregator: expit, then snap to 0 / 1 with limits from the catalogue's B/T."""
    x = expit(np.array(x, dtype=np.float64))
    if np.min(bt_all) == 0:
        lower = np.min(bt_all[bt_all != 0]) / 2.0
        x[x <= lower] = 0.0
    if np.max(bt_all) == 1:
        upper = 1.0 - (1.0 - np.max(bt_all[bt_all != 1])) / 2.0
        x[x >= upper] = 1.0
    return x


def snap_limits(bt_all):
    lower = np.min(bt_all[bt_all != 0]) / 2.0 if np.min(bt_all) == 0 else 0.0
    upper = 1.0 - (1.0 - np.max(bt_all[bt_all != 1])) / 2.0 if np.max(bt_all) == 1 else 1.0
    return float(lower), float(upper)


def write_scaling_dir(rng):
    """A catalogue of 80 galaxies, 10 % with B/T exactly 0 and 5 % exactly 1."""
    n = 80
    bt = rng.uniform(0.02, 0.97, n).round(4)
    bt[rng.choice(n, 8, replace=False)] = 0.0
    bt[rng.choice(np.flatnonzero(bt != 0.0), 4, replace=False)] = 1.0
    # GaMPEN's catalogues store a "custom" logit that keeps 0 and 1 finite; any finite
    # convention does here, the scaler is fitted on whatever the column holds.
    clipped = np.clip(bt, 0.005, 0.995)
    r_e = np.exp(rng.normal(-0.3, 0.6, n))
    flux = np.exp(rng.normal(8.5, 1.0, n))
    info = pd.DataFrame(
        {
            "object_id": np.arange(1000, 1000 + n),
            "file_name": [f"g{i:03d}.fits" for i in range(n)],
            "bt": bt,
            "custom_logit_bt": np.log(clipped / (1 - clipped)),
            "R_e_asec": r_e,
            "ln_R_e_asec": np.log(r_e),
            "total_flux_adus": flux,
            "ln_total_flux_adus": np.log(flux),
        }
    )
    scaling = os.path.join(OUT, "scaling")
    os.makedirs(os.path.join(scaling, "splits"), exist_ok=True)
    info.to_csv(os.path.join(scaling, "info.csv"), index=False)
    order = rng.permutation(n)
    parts = {"train": order[:56], "devel": order[56:68], "test": order[68:]}
    for split, rows in parts.items():
        info.iloc[np.sort(rows)].to_csv(
            os.path.join(scaling, "splits", f"{SLUG}-{split}.csv"), index=False
        )
    return scaling


def fit_scaler(scaling):
    """GaMPEN's inference module: StandardScaler on the training split's target columns."""
    train = pd.read_csv(os.path.join(scaling, "splits", f"{SLUG}-train.csv"))
    scaler = StandardScaler()
    scaler.fit(np.array(train[TARGETS]))
    bt_all = np.array(pd.read_csv(os.path.join(scaling, "info.csv"))["bt"])
    return scaler, bt_all


def unscale(scaler, bt_all, scaled):
    """Inverse scaling (inference module), then the aggregator's `unscale_preds`."""
    z = scaler.inverse_transform(np.asarray(scaled, dtype=np.float64))
    return np.stack(
        [expit_custom_like_gampen(z[:, 0], bt_all), np.exp(z[:, 1]), np.exp(z[:, 2])], axis=1
    )


def snap_cases(scaler, bt_all):
    """Scaled B/T values just inside, at and beyond both snap limits."""
    lower, upper = snap_limits(bt_all)
    mean, std = scaler.mean_[0], scaler.scale_[0]
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    probs = [lower * 0.5, lower * 0.999, lower * 1.001, 0.3, 0.5, upper * 0.999,
             1 - (1 - upper) * 0.999, 1 - (1 - upper) * 0.5]
    z = np.array([(logit(p) - mean) / std for p in probs])
    zs = np.stack([z, np.zeros_like(z), np.zeros_like(z)], axis=1)
    return z, unscale(scaler, bt_all, zs)[:, 0]


def lively(model, x, seed):
    """He-normal weights and small biases for the VGG part, then a head scaled to O(1)
    outputs. PyTorch's default initialisation, at these narrow widths, shrinks the signal
    tenfold per stage, so every galaxy would get the same output and the comparison would not
    see the input at all."""
    g = torch.Generator().manual_seed(seed)
    layers = [m for m in model.vgg.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for layer in layers:
            fan_in = layer.weight[0].numel()
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g) * 0.01)
        head = model.vgg.classifier[6]
        head.weight.div_(model(x).std())


def specify_dropout_rate(model, rate):
    """One rate for every dropout layer, the classifier's included, as GaMPEN's inference
    module does when given `--dropout_rate`."""
    for m in model.modules():
        if m.__class__.__name__.startswith("Dropout"):
            m.p = rate


def mc_statistics(model, x):
    for m in model.modules():
        if m.__class__.__name__.startswith("Dropout"):
            m.train()
    torch.manual_seed(1)
    # Each row of a batch draws its own masks, so a batch of repeated images is as many
    # independent passes.
    reps = 500
    batch = x.repeat(reps, 1, 1, 1)
    with torch.no_grad():
        chunks = [model(batch).view(reps, *x.shape[:1], -1) for _ in range(MC_PASSES // reps)]
    passes = torch.cat(chunks).double()
    model.eval()
    mean = passes.mean(0)
    centred = passes - mean
    return {
        "passes": MC_PASSES,
        "mean": fi.r(mean),
        "std": fi.r(centred.pow(2).mean(0).sqrt()),
        "m4": fi.r(centred.pow(4).mean(0)),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    fi.CUTOUT = CUTOUT  # VggWStn and inputs() read the module's cutout size
    rng = np.random.default_rng(5)
    scaling = write_scaling_dir(rng)
    scaler, bt_all = fit_scaler(scaling)
    torch.manual_seed(300)
    # Image i is scaled by (i + 1) so that the galaxies' outputs differ visibly.
    x = fi.inputs(9, N_IMAGES) * torch.arange(1, N_IMAGES + 1, dtype=torch.float32).view(-1, 1, 1, 1)
    model = fi.VggWStn(SIZE, 1, dropout_rate=DROPOUT)
    fi.perturb(model, 301, x)
    model.eval()
    lively(model, x, 302)
    specify_dropout_rate(model, DROPOUT)
    with torch.no_grad():
        raw = model(x)
    means = unscale(scaler, bt_all, raw[:, :3].double().numpy())
    z, snapped = snap_cases(scaler, bt_all)
    state = nn.DataParallel(model).state_dict()
    torch.save(state, os.path.join(OUT, f"{PRESET}_narrow.pt"))
    lower, upper = snap_limits(bt_all)
    reference = {
        "preset": PRESET,
        "file": f"{PRESET}_narrow.pt",
        "cutout_size": CUTOUT,
        "dropout": DROPOUT,
        "width": SIZE[0],
        "hidden": [SIZE[1]] * 2,
        "stn_channels": list(SIZE[2]),
        "input": {"seed": 9, "batch": N_IMAGES, "generator": "abs(lcg) * 2 * (i + 1) for image i"},
        "targets": TARGETS,
        "scaler": {
            "mean": scaler.mean_.tolist(),
            "scale": scaler.scale_.tolist(),
            "snap_lower": lower,
            "snap_upper": upper,
        },
        "raw": fi.r(raw),
        "means": means.tolist(),
        "snap": {"scaled": z.tolist(), "bt": snapped.tolist()},
        "mc": mc_statistics(model, x),
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
