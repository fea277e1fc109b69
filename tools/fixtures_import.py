#!/usr/bin/env python3
"""PyTorch fixtures for importing GaMPEN's published models (`src/import.rs`).

Run from the repository root: `python3 tools/fixtures_import.py` (needs torch, torchvision,
numpy). Writes fixtures/import/*.pt (state dicts) and fixtures/import/*.json (outputs).

The networks are GaMPEN's `vgg16_w_stn_oc_drp`, `vgg16_w_stn_drp`, `vgg16_w_stn_at_drp`
(ggt/models/) and plain `vgg16` (ggt/models/vgg.py), built layer by layer exactly as the
original (localisation net, fc_loc, torchvision's `make_layers` for the features, Dropout in
front of every conv but the first for the `*_drp` ones, torchvision's classifier layout), but
narrow so that the state dicts stay small: conv widths 1/32 or 1/64 of VGG-16's (via
torchvision's own `make_layers` on a scaled cfg), classifier 16-16 or 8-8, localisation
convs 4 and 6 channels, 40x40 cutouts; the keys and index layout are those of the full-size
models. They are saved
from `nn.DataParallel` (keys start with `module.`), as GaMPEN's trainer does, except plain
`vgg16`, saved unwrapped.

Inputs are not stored: they come from the `lcg` generator that tests/import.rs reimplements
bit for bit.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.vgg import cfgs, make_layers

torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "import")
MASK = (1 << 64) - 1

CUTOUT = 40
CHANNELS = 3
N_OUT = 9  # three parameters, full covariance (GaMPEN's aleatoric_cov loss)
DROPOUT = 0.5
MC_PASSES = 2000
# (conv width multiplier, classifier width, localisation channels) per fixture.
MAIN = (1 / 32, 16, (4, 6))  # vgg16_w_stn_oc_drp: outputs and MC statistics
TINY = (1 / 64, 8, (4, 6))  # the other classes and the broken state dicts


def lcg(seed, n):
    """n float32 values uniform on [-1, 1), multiples of 2^-23 (exact in f32)."""
    state = (seed * 0x9E3779B97F4A7C15 + 1) & MASK
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        out[i] = (state >> 40) / float(1 << 23) - 1.0
    return out


def inputs(seed, batch):
    """Non-negative images in [0, 2), like arsinh-normalised cutouts."""
    noise = lcg(seed, batch * CHANNELS * CUTOUT * CUTOUT).reshape(batch, CHANNELS, CUTOUT, CUTOUT)
    return torch.from_numpy(np.abs(noise) * np.float32(2.0))


class NarrowVgg(nn.Module):
    """torchvision's VGG (features, avgpool, classifier) with a configurable classifier."""

    def __init__(self, features, hidden, n_out):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        last = [m for m in features if isinstance(m, nn.Conv2d)][-1].out_channels
        self.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, hidden),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(hidden, n_out),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def narrow_vgg16(size, dropout, dropout_rate):
    width, hidden, _ = size
    # Python's round() is half-to-even, Rust's f64::round half-away: no .5 cases here.
    cfg = [v if v == "M" else max(1, round(v * width)) for v in cfgs["D"]]
    vgg = NarrowVgg(make_layers(cfg, batch_norm=False), hidden, N_OUT)
    if dropout:  # as in ggt/models/vgg16_w_stn_*_drp.py
        new_features = []
        for i, feature in enumerate(vgg.features):
            if isinstance(feature, nn.Conv2d) and i != 0:
                new_features.append(nn.Dropout(p=dropout_rate, inplace=False))
            new_features.append(feature)
        vgg.features = nn.Sequential(*new_features)
    return vgg


class VggWStn(nn.Module):
    """GaMPEN's vgg16_w_stn_{oc,at,}_drp with narrow widths; `head` is 1, 3 or 6."""

    def __init__(self, size, head, dropout_rate=DROPOUT):
        super().__init__()
        c1, c2 = size[2]
        self.head = head
        self.localization = nn.Sequential(
            nn.Conv2d(CHANNELS, c1, kernel_size=11),
            nn.MaxPool2d(3, stride=2),
            nn.ReLU(True),
            nn.Conv2d(c1, c2, kernel_size=9),
            nn.MaxPool2d(3, stride=2),
            nn.ReLU(True),
        )
        shape = self.localization(torch.zeros(1, CHANNELS, CUTOUT, CUTOUT)).shape
        self.fc_in_size = int(np.prod(shape[-3:]))
        self.fc_loc = nn.Sequential(nn.Linear(self.fc_in_size, 32), nn.ReLU(True), nn.Linear(32, head))
        ident = {1: [1.0], 3: [1.0, 0.0, 0.0], 6: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]}[head]
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor(ident))
        self.vgg = narrow_vgg16(size, True, dropout_rate)

    def spatial_transform(self, x):
        xs = self.localization(x).view(-1, self.fc_in_size)
        p = self.fc_loc(xs)
        if self.head == 6:
            theta = p.view(-1, 2, 3)
        else:
            theta = torch.zeros(p.shape[0], 2, 3)
            if self.head == 1:
                theta[:, [0, 1], [0, 1]] = p
            else:
                theta[:, 0, 0] = p[:, 0]
                theta[:, 1, 1] = p[:, 0]
                theta[:, [0, 1], [2, 2]] = p[:, 1:]
        grid = F.affine_grid(theta, x.size(), align_corners=True)
        return F.grid_sample(x, grid, align_corners=True), theta

    def forward(self, x):
        x, _ = self.spatial_transform(x)
        return self.vgg(x)


def perturb(model, seed, x):
    """Moves the STN off the identity (a trained fc_loc[2] is not zero; here the transform
    varies by about 0.1 between images) and scales the classifier so that the outputs are
    O(1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        vgg = model.vgg if hasattr(model, "vgg") else model
        vgg.classifier[6].weight.mul_(10.0)
        if hasattr(model, "fc_loc"):
            ident = {1: [0.8], 3: [0.9, 0.05, -0.05], 6: [0.9, 0.05, 0.05, -0.05, 0.85, -0.05]}
            w, b = model.fc_loc[2].weight, model.fc_loc[2].bias
            w.copy_(torch.randn(w.shape, generator=g))
            h = model.fc_loc[1](model.fc_loc[0](model.localization(x).flatten(1)))
            w.mul_(0.1 / (h @ w.T).std().clamp_min(1e-6))
            b.copy_(torch.tensor(ident[b.numel()]) - (h @ w.T).mean(0))


def r(t):
    a = t.detach().cpu().numpy().astype(np.float64)
    return [[float(f"{v:.8g}") for v in row] for row in a.reshape(a.shape[0], -1)]


def save_state(model, name, wrap):
    state = (nn.DataParallel(model) if wrap else model).state_dict()
    path = os.path.join(OUT, f"{name}.pt")
    torch.save(state, path)
    return state, path


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    x = inputs(7, 3)
    summary = {
        "cutout_size": CUTOUT,
        "channels": CHANNELS,
        "dropout": DROPOUT,
        "input": {"seed": 7, "batch": 3, "generator": "abs(lcg) * 2"},
        "models": {},
    }
    archs = [
        ("vgg16_w_stn_oc_drp", 1, MAIN),
        ("vgg16_w_stn_drp", 6, TINY),
        ("vgg16_w_stn_at_drp", 3, TINY),
        ("vgg16", None, TINY),
        ("broken", 1, TINY),
    ]
    for k, (name, head, size) in enumerate(archs):
        torch.manual_seed(100 + k)
        model = VggWStn(size, head) if head else narrow_vgg16(size, False, DROPOUT)
        perturb(model, 200 + k, x)
        model.eval()
        wrap = head is not None
        if name == "broken":
            state = nn.DataParallel(model).state_dict()
            missing = {k: v for k, v in state.items() if k != "module.vgg.features.7.bias"}
            torch.save(missing, os.path.join(OUT, "broken_missing.pt"))
            extra = dict(state)
            extra["module.vgg.extra.weight"] = torch.zeros(2, 2)
            torch.save(extra, os.path.join(OUT, "broken_extra.pt"))
            summary["broken"] = {"width": size[0], "hidden": [size[1]] * 2, "stn_channels": list(size[2])}
            continue
        with torch.no_grad():
            y = model(x)
            entry = {
                "file": f"{name}.pt",
                "width": size[0],
                "hidden": [size[1]] * 2,
                "stn_channels": list(size[2]),
                "output": r(y),
            }
            if head:
                entry["theta"] = r(model.spatial_transform(x)[1])
        if name == "vgg16_w_stn_oc_drp":
            # MC dropout: dropout layers in train mode, everything else in eval mode
            # (GaMPEN's enable_dropout).
            for m in model.modules():
                if m.__class__.__name__.startswith("Dropout"):
                    m.train()
            torch.manual_seed(1)
            with torch.no_grad():
                passes = torch.stack([model(x) for _ in range(MC_PASSES)])
            entry["mc"] = {
                "passes": MC_PASSES,
                "mean": r(passes.mean(0)),
                "std": r(passes.std(0, unbiased=False)),
            }
            model.eval()
        state, _ = save_state(model, name, wrap)
        entry["keys"] = list(state.keys())
        entry["data_parallel"] = wrap
        summary["models"][name] = entry
    with open(os.path.join(OUT, "outputs.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
