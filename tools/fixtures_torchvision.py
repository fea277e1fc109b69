#!/usr/bin/env python3
"""PyTorch fixtures for starting from torchvision's ImageNet VGG (`src/import/torchvision.rs`).

Run from the repository root: `python3 tools/fixtures_torchvision.py` (needs torch, torchvision,
numpy). Writes fixtures/torchvision/:

- vgg16_narrow.pth: a torchvision-layout VGG-16 state dict (`features.N`, `classifier.0/3/6`,
  saved with plain `torch.save(model.state_dict())`, no `module.` prefix), built with
  torchvision's own `make_layers` on configuration "D" with every width divided by 32 so the
  file stays small; classifier 784 -> 8 -> 8 -> 1000 (ImageNet's 1000 classes, never loaded).
- vgg11_narrow.pth: the same for configuration "A" (VGG-11), whose conv positions do not fit a
  VGG-16 backbone.
- outputs.json: torchvision's `features(x)` in eval mode for a deterministic input, and the
  output of a 9-output head (its weights stored too) on `classifier[:-1](flatten(avgpool(
  features(x))))`, which the Rust test puts on top of the loaded hidden layers to compare a
  whole backbone forward pass.

Random weights with torchvision's initialisation (fixed seed), biases moved off zero so that
loading them is tested. Inputs are not stored: they come from the `lcg` generator of
tools/fixtures_import.py, which tests/init_backbone.rs reimplements bit for bit.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
from torchvision.models.vgg import VGG, cfgs, make_layers

torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torchvision")
MASK = (1 << 64) - 1

WIDTH = 1 / 32
HIDDEN = 8
CLASSES = 1000
HEAD = 9  # three parameters with full covariance, as the Rust model predicts
SIZE = 64  # five max-pools leave 2x2 maps; the adaptive pool then spreads them to 7x7
CHANNELS = 3
BATCH = 2
SEED = 11


def lcg(seed, n):
    """n float32 values uniform on [-1, 1), multiples of 2^-23 (exact in f32); as in
    tools/fixtures_import.py."""
    state = (seed * 0x9E3779B97F4A7C15 + 1) & MASK
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        out[i] = (state >> 40) / float(1 << 23) - 1.0
    return out


def inputs():
    """Non-negative images in [0, 2), like arsinh-normalised cutouts."""
    noise = lcg(SEED, BATCH * CHANNELS * SIZE * SIZE).reshape(BATCH, CHANNELS, SIZE, SIZE)
    return torch.from_numpy(np.abs(noise) * np.float32(2.0))


class NarrowVgg(VGG):
    """torchvision's VGG (its `forward`, its `features` from `make_layers`) with a narrow
    classifier: VGG's own constructor hard-codes 512 * 7 * 7 -> 4096 -> 4096."""

    def __init__(self, cfg):
        nn.Module.__init__(self)
        # Python's round() is half-to-even, Rust's f64::round half-away: no .5 cases here.
        scaled = [v if v == "M" else max(1, round(v * WIDTH)) for v in cfgs[cfg]]
        self.features = make_layers(scaled, batch_norm=False)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        last = [v for v in scaled if v != "M"][-1]
        self.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, HIDDEN),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(HIDDEN, CLASSES),
        )
        # torchvision's VGG initialisation, then biases off zero.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.bias, 0, 0.1)
        # ImageNet-sized hidden weights would leave O(1e-2) activations here; scale them so
        # the compared hidden outputs are O(1).
        with torch.no_grad():
            self.classifier[0].weight.mul_(30.0)
            self.classifier[3].weight.mul_(30.0)


def r(t):
    a = t.detach().cpu().numpy().astype(np.float64)
    return [float(f"{v:.9g}") for v in a.reshape(-1)]


def save(model, name):
    path = os.path.join(OUT, name)
    torch.save(model.state_dict(), path)
    return os.path.getsize(path)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    vgg16 = NarrowVgg("D").eval()
    x = inputs()
    with torch.no_grad():
        features = vgg16.features(x)
        hidden = vgg16.classifier[:-1](torch.flatten(vgg16.avgpool(features), 1))
        head = nn.Linear(HIDDEN, HEAD)
        nn.init.normal_(head.weight, 0, 0.5)
        nn.init.normal_(head.bias, 0, 0.1)
        output = head(hidden)
    sizes = {"vgg16_narrow.pth": save(vgg16, "vgg16_narrow.pth")}
    torch.manual_seed(1)
    sizes["vgg11_narrow.pth"] = save(NarrowVgg("A").eval(), "vgg11_narrow.pth")
    for name, size in sizes.items():
        assert size < 200_000, f"{name} is {size} bytes"
    summary = {
        "file": "vgg16_narrow.pth",
        "mismatch_file": "vgg11_narrow.pth",
        "width": WIDTH,
        "hidden": [HIDDEN, HIDDEN],
        "input": {
            "seed": SEED,
            "shape": [BATCH, CHANNELS, SIZE, SIZE],
            "generator": "abs(lcg) * 2",
        },
        "features_shape": list(features.shape),
        "features": r(features),
        # Burn layout: [in, out].
        "head": {"weight": r(head.weight.T), "bias": r(head.bias)},
        "output": r(output),
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "outputs.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print(sizes, "features", list(features.shape), "max |f|", float(features.abs().max()),
          "max |hidden|", float(hidden.abs().max()))


if __name__ == "__main__":
    main()
