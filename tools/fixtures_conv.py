#!/usr/bin/env python3
"""PyTorch reference fixture for 2-D convolution: forward, input, weight and bias gradients.

Run from the repository root: `python3 tools/fixtures_conv.py` (needs torch, numpy).
Writes fixtures/conv2d_cases.json, read by `tests/conv2d.rs`.

The cases cover the shapes on which a CPU convolution's tiling and indexing can go wrong:
tiles of several whole images, tiles of a few rows of one image, a row wider than a tile,
strides, dilations, padding that differs between the two sides (as Burn's "same" padding
gives for even kernels), groups, depthwise and few-channel layers (flex's own forward
paths), a kernel as large as the input, a VGG-like layer, and wider 3x3 layers with odd
output sizes and padding beyond the kernel's reach.

Inputs come from the `lcg` generator of `tools/fixtures_stn_backbone.py`, rebuilt bit for bit
by `gampen_testing::generated`. The loss is `sum(conv(x) * grad_output)`, so the gradients are
those of a backward pass seeded with `grad_output`. Large tensors are stored at every
`stride`-th flat index, enough to catch an indexing error, which moves many values at once.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_stn_backbone import Gen, r  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
MAX_STORED = 700

# name: batch, c_in, (h, w), c_out, groups, kernel, stride, dilation, ((top, bottom), (left, right)), bias
CASES = [
    ("multi_image_tiles", 7, 5, (10, 10), 6, 1, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), True),
    ("row_tiles_one_image", 1, 5, (32, 32), 6, 1, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), True),
    ("row_tiles_batch", 3, 6, (24, 48), 7, 1, (5, 5), (1, 1), (1, 1), ((2, 2), (2, 2)), False),
    ("strided_dilated", 2, 5, (23, 29), 17, 1, (3, 5), (2, 3), (2, 1), ((3, 3), (2, 2)), True),
    ("asymmetric_padding", 2, 5, (12, 13), 6, 1, (4, 3), (1, 1), (1, 1), ((1, 2), (0, 1)), True),
    ("groups", 3, 6, (9, 11), 4, 2, (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), True),
    ("row_wider_than_tile", 1, 5, (1, 520), 17, 1, (1, 3), (1, 1), (1, 1), ((0, 0), (1, 1)), True),
    ("kernel_as_large_as_input", 2, 5, (7, 7), 6, 1, (7, 7), (1, 1), (1, 1), ((0, 0), (0, 0)), True),
    ("few_channels", 2, 1, (16, 16), 8, 1, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), True),
    ("depthwise", 2, 4, (10, 10), 4, 4, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), True),
    ("vgg_like", 2, 8, (24, 24), 8, 1, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), True),
    # 3x3 stride-1 layers of 16+ channels (VGG's): many tiles, odd output sizes, no padding,
    # and padding beyond the kernel's reach (the input gradient then starts inside the image).
    ("wide_3x3_many_tiles", 3, 16, (24, 22), 24, 1, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), True),
    ("wide_3x3_odd_valid", 2, 17, (9, 8), 16, 1, (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), False),
    ("wide_3x3_wide_padding", 1, 16, (5, 7), 18, 1, (3, 3), (1, 1), (1, 1), ((3, 2), (0, 3)), True),
]


def stored(t):
    """`{"stride", "values"}`: the flat tensor at every stride-th index."""
    flat = t.detach().reshape(-1)
    stride = max(1, math.ceil(flat.numel() / MAX_STORED))
    return {"stride": stride, "values": r(flat[::stride])}


def case(gen, spec):
    name, batch, c_in, (h, w), c_out, groups, kernel, stride, dilation, pad, bias = spec
    x, xs = gen((batch, c_in, h, w), 1.0)
    fan_in = c_in // groups * kernel[0] * kernel[1]
    weight, ws = gen((c_out, c_in // groups, *kernel), 1.0 / math.sqrt(fan_in))
    b, bs = gen((c_out,), 0.5) if bias else (None, None)
    x.requires_grad_(True)
    weight.requires_grad_(True)
    if b is not None:
        b.requires_grad_(True)
    (top, bottom), (left, right) = pad
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, b, stride, 0, dilation, groups)
    gy, gys = gen(tuple(y.shape), 1.0)
    (y * gy).sum().backward()
    out = {
        "name": name,
        "x": xs,
        "weight": ws,
        "bias": bs,
        "grad_output": gys,
        "stride": list(stride),
        "dilation": list(dilation),
        "padding": [list(pad[0]), list(pad[1])],
        "groups": groups,
        "output_shape": list(y.shape),
        "output": stored(y),
        "grad_x": stored(x.grad),
        "grad_weight": stored(weight.grad),
    }
    if b is not None:
        out["grad_bias"] = stored(b.grad)
    return out


def main():
    torch.manual_seed(0)
    gen = Gen()
    gen.next_seed = 1000
    cases = [case(gen, spec) for spec in CASES]
    path = os.path.join(OUT, "conv2d_cases.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
    print(f"{path}: {os.path.getsize(path) / 1024:.1f} KiB")


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
