#!/usr/bin/env python3
"""PyTorch side of the gampen-rs benchmark: the workloads of `examples/bench_report.rs` in
the same architecture, batch and sizes, printing the same JSON lines
`{workload, backend, batch, size, ms, items_per_s}`.

    python3 tools/bench_torch.py --device cpu                 # CPU set, 2 threads
    python3 tools/bench_torch.py --device cuda --set gpu      # GPU set
    python3 tools/bench_torch.py --device cpu --workloads vgg16_forward:16:96
    python3 tools/bench_torch.py --device cuda --set gpu --precision bf16   # autocast

Models (GaMPEN's `vgg16_w_stn_oc_drp` and the narrow `gampen_small` preset):
- STN localisation: conv11 -> maxpool 3/2 -> ReLU -> conv9 -> maxpool 3/2 -> ReLU -> fc32 ->
  ReLU -> fc1 (one-crop scale head), then affine_grid + grid_sample (align_corners=True).
- torchvision-style VGG with a Dropout before every conv but the first, AdaptiveAvgPool(7),
  classifier Linear-ReLU-Dropout per hidden layer, then the K-output head.
- Full-covariance Gaussian NLL: GaMPEN's LDL layout (gampen_original) or Cholesky
  (gampen_small), `[mu (n), log-diagonal (n), strictly-lower (n(n-1)/2)]`.
- Monte-Carlo dropout: STN and the first VGG block run once; the T passes are batched
  (at most --max-rows rows at a time, like gampen-rs's `max_rows`: 256 on a CPU, 4096 on a
  GPU), 10 draws per pass.
- --precision f16/bf16: the network under torch.autocast, the likelihood and the draws in
  f32 (as gampen-rs's `Precision`); f16 training scales the loss (GradScaler).

Every timing is the median of --reps runs after --warmup runs, synchronised (a scalar read
back, and torch.cuda.synchronize on CUDA); after --budget-s seconds on one case no further
runs start (at least one warm-up and one timed run always happen).
"""
import argparse
import contextlib
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PASSES = 100
SAMPLES_PER_PASS = 10
N_PARAMS = 3

VGG_LAYERS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}

CPU_SET = [
    ("vgg16_forward", 16, 64),
    ("vgg16_forward", 16, 96),
    ("train_step_gampen_small", 16, 64),
    ("train_step_gampen_original", 16, 64),
    ("posterior_gampen_small", 16, 64),
]
GPU_SET = [
    (w, b, s)
    for w in ("train_step_gampen_original", "posterior_gampen_original", "vgg16_forward")
    for s in (96, 143)
    for b in (16, 64)
]


class Stn(nn.Module):
    """GaMPEN's one-crop spatial transformer."""

    def __init__(self, channels, size, conv=(64, 96)):
        super().__init__()
        self.loc = nn.Sequential(
            nn.Conv2d(channels, conv[0], 11), nn.MaxPool2d(3, 2), nn.ReLU(True),
            nn.Conv2d(conv[0], conv[1], 9), nn.MaxPool2d(3, 2), nn.ReLU(True),
        )
        with torch.no_grad():
            feat = self.loc(torch.zeros(1, channels, size, size)).numel()
        self.fc = nn.Sequential(nn.Linear(feat, 32), nn.ReLU(True), nn.Linear(32, 1))
        self.fc[2].weight.data.zero_()
        self.fc[2].bias.data.fill_(1.0)

    def forward(self, x):
        s = self.fc(self.loc(x).flatten(1))  # [B, 1]
        zero = torch.zeros_like(s)
        theta = torch.cat([s, zero, zero, zero, s, zero], 1).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=True)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


class Vgg(nn.Module):
    """torchvision VGG with GaMPEN's dropout before every conv but the first."""

    def __init__(self, depth, k, channels=3, width=1.0, batch_norm=False, hidden=(4096, 4096), p=0.5):
        super().__init__()
        blocks, c, first = [], channels, True
        for v in VGG_LAYERS[depth]:
            if v == "M":
                blocks[-1].append(nn.MaxPool2d(2, 2))
                continue
            out = max(1, round(v * width))
            block = [] if first else [nn.Dropout(p)]
            block.append(nn.Conv2d(c, out, 3, padding=1))
            if batch_norm:
                block.append(nn.BatchNorm2d(out))
            block.append(nn.ReLU(True))
            blocks.append(block)
            c, first = out, False
        self.stem = nn.Sequential(*blocks[0])
        self.rest = nn.Sequential(*[m for b in blocks[1:] for m in b])
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        layers, d = [], c * 49
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(True), nn.Dropout(p)]
            d = h
        layers.append(nn.Linear(d, k))
        self.classifier = nn.Sequential(*layers)

    def forward_from_stem(self, h):
        return self.classifier(self.avgpool(self.rest(h)).flatten(1))

    def forward(self, x):
        return self.forward_from_stem(self.stem(x))


class Gampen(nn.Module):
    def __init__(self, stn, vgg, ldl):
        super().__init__()
        self.stn, self.vgg, self.ldl = stn, vgg, ldl

    def forward(self, x):
        return self.vgg(self.stn(x))

    def deterministic(self, x):
        return self.vgg.stem(self.stn(x))


def build(model, size):
    k = N_PARAMS + N_PARAMS * (N_PARAMS + 1) // 2
    if model == "gampen_original":
        return Gampen(Stn(3, size), Vgg(16, k), ldl=True), 3
    if model == "gampen_small":
        assert size == 64, "gampen_small is built for 64x64 cutouts"
        vgg = Vgg(11, k, channels=1, width=0.125, batch_norm=True, hidden=(64, 64), p=0.02)
        return Gampen(Stn(1, size, conv=(8, 16)), vgg, ldl=False), 1
    raise ValueError(f"unknown model {model}")


def factor(out, n, ldl):
    """Mean and lower-triangular factor: Sigma = L L^T (Cholesky) or L D L^T (LDL)."""
    mu, logd, off = out[:, :n], out[:, n:2 * n], out[:, 2 * n:]
    b = out.shape[0]
    rows, cols = torch.tril_indices(n, n, offset=-1, device=out.device)
    lower = torch.zeros(b, n, n, device=out.device, dtype=out.dtype)
    lower[:, rows, cols] = off
    if ldl:
        lower = lower + torch.eye(n, device=out.device, dtype=out.dtype)
        return mu, lower * torch.exp(0.5 * logd).unsqueeze(1), logd.sum(1)
    lower = lower + torch.diag_embed(torch.exp(logd))
    return mu, lower, 2 * logd.sum(1)


def nll(out, y, n, ldl):
    mu, scale, logdet = factor(out, n, ldl)
    z = torch.linalg.solve_triangular(scale, (y - mu).unsqueeze(-1), upper=False).squeeze(-1)
    return (0.5 * (z * z).sum(1) + 0.5 * logdet).mean()


def timed(fn, warmup, reps, sync, budget_s):
    start = time.perf_counter()
    for i in range(max(1, warmup)):
        if i > 0 and time.perf_counter() - start > budget_s:
            break
        fn()
        sync()
    ms = []
    for i in range(max(1, reps)):
        if i > 0 and time.perf_counter() - start > budget_s:
            break
        t = time.perf_counter()
        fn()
        sync()
        ms.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ms)


class Case:
    """How one case runs: device, precision, rows per network call, timing."""

    def __init__(self, args, sync):
        self.device = args.device
        self.dtype = {"f32": None, "f16": torch.float16, "bf16": torch.bfloat16}[args.precision]
        self.max_rows = args.max_rows
        self.sync = sync
        self.budget_s = args.budget_s
        self.warmup = args.warmup
        self.reps = args.reps

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device, dtype=self.dtype)

    def time(self, fn):
        return timed(fn, self.warmup, self.reps, self.sync, self.budget_s)


def run_case(workload, b, s, case):
    torch.manual_seed(0)
    device = case.device
    if workload == "vgg16_forward":
        vgg = Vgg(16, 9).to(device).eval()
        x = torch.rand(b, 3, s, s, device=device)

        def fn():
            with torch.no_grad(), case.autocast():
                vgg(x).float().sum().item()
        return case.time(fn)
    if workload.startswith("train_step_"):
        model, c = build(workload[len("train_step_"):], s)
        model = model.to(device).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9)
        scaler = torch.amp.GradScaler(device, enabled=case.dtype == torch.float16)
        x = torch.rand(b, c, s, s, device=device)
        y = torch.randn(b, N_PARAMS, device=device)

        def fn():
            opt.zero_grad(set_to_none=True)
            with case.autocast():
                out = model(x)
            loss = nll(out.float(), y, N_PARAMS, model.ldl)
            loss.item()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        return case.time(fn)
    if workload.startswith("posterior_"):
        model, c = build(workload[len("posterior_"):], s)
        model = model.to(device).eval()
        for m in model.modules():  # MC dropout: dropout on, batch norm in eval mode
            if isinstance(m, nn.Dropout):
                m.train()
        x = torch.rand(b, c, s, s, device=device)

        def fn():
            with torch.no_grad():
                with case.autocast():
                    stem = model.deterministic(x)
                chunk = max(1, min(PASSES, case.max_rows // b))
                draws, done = [], 0
                while done < PASSES:
                    t = min(chunk, PASSES - done)
                    h = stem.repeat(t, 1, 1, 1)
                    with case.autocast():
                        out = model.vgg.forward_from_stem(h)
                    mu, scale, _ = factor(out.float(), N_PARAMS, model.ldl)
                    z = torch.randn(t * b, SAMPLES_PER_PASS, N_PARAMS, device=device)
                    draws.append((z @ scale.transpose(1, 2) + mu.unsqueeze(1)).cpu())
                    done += t
                return draws
        return case.time(fn)
    raise ValueError(f"unknown workload {workload}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--set", default=None, choices=["cpu", "gpu"])
    ap.add_argument("--workloads", default=None, help="name:batch:size,... (overrides --set)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--precision", default="f32", choices=["f32", "f16", "bf16"])
    ap.add_argument("--max-rows", type=int, default=None,
                    help="galaxy-passes per network call (default 256 on cpu, 4096 on cuda)")
    ap.add_argument("--budget-s", type=float, default=20.0,
                    help="no further runs of a case start after this many seconds")
    args = ap.parse_args()

    gpu = args.device == "cuda"
    if gpu:
        torch.backends.cudnn.benchmark = True
        sync = torch.cuda.synchronize
    else:
        torch.set_num_threads(args.threads)
        sync = lambda: None  # noqa: E731 - CPU ops are synchronous
    if args.workloads:
        cases = [(w, int(b), int(s)) for w, b, s in (c.split(":") for c in args.workloads.split(","))]
    else:
        cases = GPU_SET if (args.set or ("gpu" if gpu else "cpu")) == "gpu" else CPU_SET
    if args.warmup is None:
        args.warmup = 3 if gpu else 1
    if args.reps is None:
        args.reps = 10 if gpu else 3
    if args.max_rows is None:
        args.max_rows = 4096 if gpu else 256
    case = Case(args, sync)
    backend = f"torch-{args.device}"
    for workload, b, s in cases:
        ms = run_case(workload, b, s, case)
        print(json.dumps({
            "workload": workload, "backend": backend, "precision": args.precision,
            "batch": b, "size": s, "ms": round(ms, 3), "items_per_s": round(b / (ms / 1e3), 2),
        }), flush=True)


if __name__ == "__main__":
    main()
