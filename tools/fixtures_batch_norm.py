#!/usr/bin/env python3
"""PyTorch reference fixture for batch normalisation: with the batch's statistics (training)
and with given ones (inference), the output and the input, weight and bias gradients.

Run from the repository root: `python3 tools/fixtures_batch_norm.py` (needs torch, numpy).
Writes fixtures/batch_norm_cases.json, read by `tests/batch_norm.rs`.

The cases cover what a fused per-channel kernel can get wrong: images of rank 2 (one value per
channel and image), 3 and 4, planes shorter and longer than a vector of partial sums, a tensor
large enough to be split across threads, and activations far from zero (a mean of 50 against
a spread of 1), where folding the mean into the shift would cancel digits.

Inputs come from the `lcg` generator of `tools/fixtures_stn_backbone.py`, rebuilt bit for bit
by `gampen_testing::generated`; `offset` is added to x in float32 on both sides. The loss is
`sum(bn(x) * grad_output)`. Large tensors are stored at every `stride`-th flat index.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_stn_backbone import Gen, r, write  # noqa: E402

MAX_STORED = 600
EPSILON = 1e-5

# name, shape of x, offset added to x
CASES = [
    ("rank2_one_value_per_plane", (9, 5), 0.0),
    ("rank3_short_planes", (3, 4, 7), 0.0),
    ("rank4_odd_planes", (4, 6, 5, 7), 0.0),
    ("rank4_far_from_zero", (5, 3, 6, 6), 50.0),
    ("rank4_split_across_threads", (4, 8, 32, 40), 0.0),
]


def stored(t):
    """`{"stride", "values"}`: the flat tensor at every stride-th index."""
    flat = t.detach().reshape(-1)
    stride = max(1, math.ceil(flat.numel() / MAX_STORED))
    return {"stride": stride, "values": r(flat[::stride])}


def case(gen, spec):
    name, shape, offset = spec
    channels = shape[1]
    x, xs = gen(shape, 1.0)
    x = x + torch.tensor(offset, dtype=torch.float32)
    gamma, gs = gen((channels,), 2.0)
    beta, bs = gen((channels,), 1.0)
    running_mean, ms = gen((channels,), 0.5)
    running_var, vs = gen((channels,), 0.5)
    running_var = running_var + 1.0
    for t in (x, gamma, beta):
        t.requires_grad_(True)
    y = F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPSILON)
    gy, gys = gen(tuple(y.shape), 1.0)
    (y * gy).sum().backward()
    dims = [0] + list(range(2, len(shape)))
    inference = F.batch_norm(x.detach(), running_mean, running_var, gamma.detach(),
                             beta.detach(), training=False, eps=EPSILON)
    return {
        "name": name,
        "x": xs,
        "offset": offset,
        "gamma": gs,
        "beta": bs,
        "running_mean": ms,
        "running_var": vs,
        "running_var_offset": 1.0,
        "grad_output": gys,
        "epsilon": EPSILON,
        "output": stored(y),
        "mean": r(x.detach().mean(dim=dims)),
        "variance": r(x.detach().var(dim=dims, unbiased=False)),
        "grad_x": stored(x.grad),
        "grad_gamma": r(gamma.grad),
        "grad_beta": r(beta.grad),
        "inference_output": stored(inference),
    }


def main():
    torch.manual_seed(0)
    gen = Gen()
    gen.next_seed = 2000
    write("batch_norm_cases", {"torch": torch.__version__, "cases": [case(gen, spec) for spec in CASES]})


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
