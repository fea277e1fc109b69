#!/usr/bin/env python3
"""PyTorch reference fixtures for `gampen-stn` and `gampen-backbone`.

Run from the repository root: `python3 tools/fixtures_stn_backbone.py` (needs torch, numpy).
Writes fixtures/stn_*.json, fixtures/vgg_*.json and fixtures/gamornet_*.json.

Weights and most inputs are not stored: they come from a tiny integer generator (`lcg`) that
the Rust tests reimplement bit for bit, so a fixture for a full-size localisation net or a VGG
stays a few kilobytes. Each generated tensor is described by `{"seed", "scale", "shape"}` and
holds `uniform[-1, 1) * scale` in float32; both factors are exact in float32, so Rust and
Python build identical tensors.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
MASK = (1 << 64) - 1


def lcg(seed, n):
    """n float32 values uniform on [-1, 1), multiples of 2^-23 (exact in f32)."""
    state = (seed * 0x9E3779B97F4A7C15 + 1) & MASK
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        out[i] = (state >> 40) / float(1 << 23) - 1.0
    return out


class Gen:
    """Hands out generated tensors and records how to rebuild them."""

    def __init__(self):
        self.next_seed = 1

    def __call__(self, shape, scale):
        seed = self.next_seed
        self.next_seed += 1
        scale = float(np.float32(scale))
        n = int(np.prod(shape))
        values = lcg(seed, n) * np.float32(scale)
        spec = {"seed": seed, "scale": scale, "shape": list(shape)}
        return torch.from_numpy(values.reshape(shape)), spec


def r(t):
    """Nested list of a tensor, float32 rounded to 7 significant digits."""
    a = t.detach().cpu().numpy().astype(np.float64)
    return json.loads(json.dumps(a.tolist(), allow_nan=False), parse_float=lambda s: float(f"{float(s):.7g}"))


def write(name, obj):
    path = os.path.join(OUT, f"{name}.json")
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(f"{path}: {os.path.getsize(path) / 1024:.1f} KiB")


def set_conv(conv, gen, specs, name):
    fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    w, ws = gen(tuple(conv.weight.shape), 1.0 / math.sqrt(fan_in))
    b, bs = gen((conv.out_channels,), 1.0 / math.sqrt(fan_in))
    conv.weight.data.copy_(w)
    conv.bias.data.copy_(b)
    specs[name] = {"weight": ws, "bias": bs}


def set_linear(lin, gen, specs, name, scale=None, bias=None):
    """Torch layout [out, in]; the spec shape is torch's, Rust transposes."""
    scale = scale if scale is not None else 1.0 / math.sqrt(lin.in_features)
    w, ws = gen(tuple(lin.weight.shape), scale)
    lin.weight.data.copy_(w)
    spec = {"weight": ws}
    if bias is None:
        b, bs = gen((lin.out_features,), 1.0 / math.sqrt(lin.in_features))
        lin.bias.data.copy_(b)
        spec["bias"] = bs
    else:
        lin.bias.data.copy_(torch.tensor(bias))
        spec["bias_values"] = bias
    specs[name] = spec


# ----------------------------------------------------------------------------------- STN ---
def theta_from(head, p):
    b = p.shape[0]
    if head == "scale":
        s = p[:, 0]
        z = torch.zeros_like(s)
        return torch.stack([s, z, z, z, s, z], 1).view(b, 2, 3)
    if head == "scale_translate":
        s, tx, ty = p[:, 0], p[:, 1], p[:, 2]
        z = torch.zeros_like(s)
        return torch.stack([s, z, tx, z, s, ty], 1).view(b, 2, 3)
    return p.view(b, 2, 3)


def sample(x, theta, out_hw):
    b, c = x.shape[:2]
    grid = F.affine_grid(theta, [b, c, out_hw[0], out_hw[1]], align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def stn_grid():
    cases = {}
    gen = Gen()
    # Non-square input, output size != input size; batch 0 samples partly outside the image.
    x, xs = gen((2, 3, 9, 11), 1.0)
    # Irregular values: no sample lands exactly on a pixel, where bilinear interpolation
    # has a kink and the gradient is one-sided (torch and finite differences then differ).
    theta = torch.tensor(
        [[[1.3137, 0.2029, 0.2537], [-0.1131, 0.9127, -0.3071]],
         [[0.6173, 0.0523, 0.1049], [0.0219, 0.7093, -0.0517]]]
    )
    gout, gs = gen((2, 3, 7, 5), 1.0)
    x.requires_grad_(True)
    theta.requires_grad_(True)
    y = sample(x, theta, (7, 5))
    (y * gout).sum().backward()
    cases["outside"] = {
        "images": xs, "theta": r(theta), "output_size": [7, 5], "grad_output": gs,
        "output": r(y), "grad_images": r(x.grad), "grad_theta": r(theta.grad),
    }
    # Degenerate output size 1 along one axis: torch puts the single sample at 0.
    x, xs = gen((1, 2, 6, 5), 1.0)
    theta = torch.tensor([[[0.8113, -0.3037, 0.1071], [0.2519, 1.1093, 0.0537]]], requires_grad=True)
    gout, gs = gen((1, 2, 1, 4), 1.0)
    x.requires_grad_(True)
    y = sample(x, theta, (1, 4))
    (y * gout).sum().backward()
    cases["single_row"] = {
        "images": xs, "theta": r(theta), "output_size": [1, 4], "grad_output": gs,
        "output": r(y), "grad_images": r(x.grad), "grad_theta": r(theta.grad),
    }
    write("stn_grid", cases)


class Loc(nn.Module):
    def __init__(self, c, hw, p, conv=(64, 96), kernels=(11, 9), hidden=32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(c, conv[0], kernels[0]), nn.MaxPool2d(3, 2), nn.ReLU(True),
            nn.Conv2d(conv[0], conv[1], kernels[1]), nn.MaxPool2d(3, 2), nn.ReLU(True),
        )
        with torch.no_grad():
            n = self.features(torch.zeros(1, c, *hw)).numel()
        self.in_features = n
        self.fc1 = nn.Linear(n, hidden)
        self.fc2 = nn.Linear(hidden, p)

    def forward(self, x):
        h = self.features(x).flatten(1)
        return self.fc2(F.relu(self.fc1(h)))


def stn_net():
    out = {}
    for head, p, ident, out_hw in [
        ("affine", 6, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [24, 20]),
        ("scale", 1, [1.0], [16, 16]),
    ]:
        gen = Gen()
        c, hw = 1, (40, 44)
        net = Loc(c, hw, p)
        specs = {}
        set_conv(net.features[0], gen, specs, "conv1")
        set_conv(net.features[3], gen, specs, "conv2")
        set_linear(net.fc1, gen, specs, "fc1")
        # Small last layer so theta stays near the identity but still differs from it.
        set_linear(net.fc2, gen, specs, "fc2", scale=0.3, bias=ident)
        x, xs = gen((2, c, *hw), 1.0)
        x.requires_grad_(True)
        theta = theta_from(head, net(x))
        y = sample(x, theta, out_hw)
        gout, gs = gen(tuple(y.shape), 1.0)
        (y * gout).sum().backward()
        out[head] = {
            "channels": c, "input_size": list(hw), "output_size": out_hw,
            "in_features": net.in_features, "params": specs, "input": xs,
            "theta": r(theta), "output": r(y), "grad_output": gs, "grad_input": r(x.grad),
        }
    write("stn_net", out)


# ----------------------------------------------------------------------------------- VGG ---
CFGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
}


class GampenVgg(nn.Module):
    """torchvision VGG with GaMPEN's Dropout before every conv except the first."""

    def __init__(self, cfg, width, in_ch, hidden, k, p, pool):
        super().__init__()
        layers, c, first = [], in_ch, True
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            v = int(v * width)
            if not first:
                layers.append(nn.Dropout(p))
            first = False
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(True)]
            c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(pool)
        self.classifier = nn.Sequential(
            nn.Linear(c * pool * pool, hidden[0]), nn.ReLU(True), nn.Dropout(p),
            nn.Linear(hidden[0], hidden[1]), nn.ReLU(True), nn.Dropout(p),
            nn.Linear(hidden[1], k),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg():
    gen = Gen()
    net = GampenVgg(CFGS["vgg11"], 1 / 8, 3, [32, 32], 5, 0.5, 7).eval()
    specs = {"convs": [], "linears": []}
    for m in net.features:
        if isinstance(m, nn.Conv2d):
            s = {}
            set_conv(m, gen, s, "c")
            specs["convs"].append(s["c"])
    for m in net.classifier:
        if isinstance(m, nn.Linear):
            s = {}
            set_linear(m, gen, s, "l")
            specs["linears"].append(s["l"])
    # 64x48 leaves a 2x1 map before the adaptive pool: a non-divisible 2x1 -> 7x7 case.
    x, xs = gen((2, 3, 64, 48), 1.0)
    with torch.no_grad():
        y = net(x)
    write("vgg_vgg11", {
        "variant": "vgg11", "width": 1 / 8, "hidden": [32, 32], "num_outputs": 5,
        "params": specs, "input": xs, "output": r(y),
    })

    cases = []
    for hw in [(1, 1), (2, 2), (3, 3), (5, 6), (9, 10), (7, 7), (16, 3)]:
        x, xs = gen((1, 2, *hw), 1.0)
        cases.append({"input": xs, "output_size": [7, 7], "output": r(F.adaptive_avg_pool2d(x, 7))})
    write("vgg_adaptive_pool", {"cases": cases})


# ------------------------------------------------------------------------------ GaMorNet ---
def tf_same(x, k, s, value=0.0):
    """TensorFlow 'SAME' padding: out = ceil(in / s), extra pixel at the bottom/right."""
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
    pw = max((math.ceil(w / s) - 1) * s + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=value)


class GamorNet(nn.Module):
    def __init__(self, in_ch, width, hidden, k, pool):
        super().__init__()
        c = [int(v * width) for v in (96, 256, 384, 384, 256)]
        self.c1 = nn.Conv2d(in_ch, c[0], 11, stride=4)
        self.c2 = nn.Conv2d(c[0], c[1], 5)
        self.c3 = nn.Conv2d(c[1], c[2], 3)
        self.c4 = nn.Conv2d(c[2], c[3], 3)
        self.c5 = nn.Conv2d(c[3], c[4], 3)
        # TF LRN(depth_radius=5, bias=1, alpha=1e-4, beta=0.75) == torch LRN(size=11, alpha=11e-4).
        self.lrn = nn.LocalResponseNorm(11, alpha=1e-4 * 11, beta=0.75, k=1.0)
        self.pool = pool
        self.fc1 = nn.Linear(c[4] * pool * pool, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], k)

    def features(self, x):
        mp = lambda t: F.max_pool2d(tf_same(t, 3, 2, float("-inf")), 3, 2)
        x = self.lrn(mp(F.relu(self.c1(tf_same(x, 11, 4)))))
        x = self.lrn(mp(F.relu(self.c2(tf_same(x, 5, 1)))))
        x = F.relu(self.c3(tf_same(x, 3, 1)))
        x = F.relu(self.c4(tf_same(x, 3, 1)))
        x = self.lrn(mp(F.relu(self.c5(tf_same(x, 3, 1)))))
        return x

    def forward(self, x):
        h = F.adaptive_avg_pool2d(self.features(x), self.pool).flatten(1)
        return self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(h)))))


def gamornet():
    gen = Gen()
    net = GamorNet(3, 1 / 16, [16, 16], 3, 6).eval()
    specs = {"convs": [], "linears": []}
    for conv in [net.c1, net.c2, net.c3, net.c4, net.c5]:
        s = {}
        set_conv(conv, gen, s, "c")
        specs["convs"].append(s["c"])
    for lin in [net.fc1, net.fc2, net.fc3]:
        s = {}
        set_linear(lin, gen, s, "l")
        specs["linears"].append(s["l"])
    # 67x61: odd, non-square sizes exercise the asymmetric 'same' padding.
    x, xs = gen((2, 3, 67, 61), 1.0)
    with torch.no_grad():
        y = net(x)
        f = net.features(x)
    write("gamornet_net", {
        "width": 1 / 16, "hidden": [16, 16], "num_outputs": 3, "pool_size": 6,
        "params": specs, "input": xs, "features_shape": list(f.shape), "output": r(y),
    })

    # LRN with large alpha so the normalisation is far from the identity.
    x, xs = gen((2, 7, 3, 4), 2.0)
    gout, gs = gen((2, 7, 3, 4), 1.0)
    x.requires_grad_(True)
    lrn = nn.LocalResponseNorm(5, alpha=0.5 * 5, beta=0.75, k=2.0)
    y = lrn(x)
    (y * gout).sum().backward()
    write("gamornet_lrn", {
        "depth_radius": 2, "bias": 2.0, "alpha": 0.5, "beta": 0.75,
        "input": xs, "output": r(y), "grad_output": gs, "grad_input": r(x.grad),
    })


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    stn_grid()
    stn_net()
    vgg()
    gamornet()
