#!/usr/bin/env python3
"""PyTorch reference fixtures for crates/gampen-loss (run from the repository root).

    python3 tools/fixtures_loss.py

Writes fixtures/loss_{cholesky,ldl,diagonal,mse}.json. Every reference is computed in float64
by torch.distributions.MultivariateNormal, independently of the Rust forward substitution:

- Cholesky layout: MultivariateNormal(mu, scale_tril=L).log_prob(y), L built from the outputs.
- GaMPEN's LDL layout: Sigma = L D L^T assembled explicitly, MultivariateNormal(mu,
  covariance_matrix=Sigma). When Sigma is too ill-conditioned for torch's own Cholesky
  (extreme cases), the equivalent scale_tril = L D^(1/2) is used and the case says so.
- Diagonal: MultivariateNormal with a diagonal scale_tril, cross-checked against
  torch.nn.functional.gaussian_nll_loss.
- MSE: torch.nn.functional.mse_loss(reduction="none").mean(1).

Inputs are rounded to float32 first (that is what the Rust tests read), so the only difference
left is Rust's float32 arithmetic. The documented guards of the Rust loss are applied here too,
as straight-through clamps (log L_ii to +-15, log D and log-variance to +-30, off-diagonals to
+-1e6). The Rust loss also saturates whitened residuals beyond 1e6 standard deviations; cases
where that acts are marked "compare": false and only checked for finiteness in Rust.

Each case holds outputs [B, K], targets [B, n], per-galaxy nll [B] and nll_full [B] (with
0.5 n ln 2 pi), mean and sum of nll, and grad_mean / grad_sum (gradients of the mean / sum
w.r.t. the outputs).
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from torch.distributions import MultivariateNormal

torch.set_default_dtype(torch.float64)
LOG_SCALE_BOUND = 15.0
OFF_DIAGONAL_BOUND = 1e6
RESIDUAL_SATURATION = 1e6
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def st_clamp(x, lo, hi):
    """Forward: clamp; backward: identity (as the Rust guards)."""
    return x.clamp(lo, hi).detach() + (x - x.detach())


def lower(n, entries, batch):
    """[B, n, n] strictly-lower matrix from row-major entries (torch.tril_indices order)."""
    m = torch.zeros(batch, n, n)
    if n > 1:
        i, j = torch.tril_indices(n, n, offset=-1)
        m = m.index_put((torch.arange(batch)[:, None], i[None, :], j[None, :]), entries)
    return m


def nll_cholesky(out, y, n):
    b = out.shape[0]
    mu = out[:, :n]
    log_diag = st_clamp(out[:, n : 2 * n], -LOG_SCALE_BOUND, LOG_SCALE_BOUND)
    off = st_clamp(out[:, 2 * n :], -OFF_DIAGONAL_BOUND, OFF_DIAGONAL_BOUND)
    scale = torch.diag_embed(log_diag.exp()) + lower(n, off, b)
    nll = -MultivariateNormal(mu, scale_tril=scale).log_prob(y) - 0.5 * n * math.log(2 * math.pi)
    return nll, scale, "scale_tril"


def nll_ldl(out, y, n):
    b = out.shape[0]
    mu = out[:, :n]
    log_d = st_clamp(out[:, n : 2 * n], -2 * LOG_SCALE_BOUND, 2 * LOG_SCALE_BOUND)
    unit = torch.eye(n).expand(b, n, n) + lower(
        n, st_clamp(out[:, 2 * n :], -OFF_DIAGONAL_BOUND, OFF_DIAGONAL_BOUND), b
    )
    sigma = unit @ torch.diag_embed(log_d.exp()) @ unit.transpose(1, 2)
    scale = unit @ torch.diag_embed((0.5 * log_d).exp())
    route = "covariance_matrix"
    try:
        dist = MultivariateNormal(mu, covariance_matrix=sigma)
        via_scale = MultivariateNormal(mu, scale_tril=scale).log_prob(y).detach()
        lp = dist.log_prob(y)
        if not torch.allclose(lp.detach(), via_scale, rtol=1e-9, atol=1e-9):
            raise ValueError("Sigma too ill-conditioned for its own Cholesky")
    except (ValueError, RuntimeError):
        route = "scale_tril"
        lp = MultivariateNormal(mu, scale_tril=scale).log_prob(y)
    return -lp - 0.5 * n * math.log(2 * math.pi), scale, route


def nll_diagonal(out, y, n):
    mu = out[:, :n]
    log_var = st_clamp(out[:, n:], -2 * LOG_SCALE_BOUND, 2 * LOG_SCALE_BOUND)
    scale = torch.diag_embed((0.5 * log_var).exp())
    nll = -MultivariateNormal(mu, scale_tril=scale).log_prob(y) - 0.5 * n * math.log(2 * math.pi)
    check = F.gaussian_nll_loss(mu, y, log_var.exp(), reduction="none", eps=0.0).sum(1)
    assert torch.allclose(nll, check, rtol=1e-10, atol=1e-10), (nll, check)
    return nll, scale, "scale_tril"


def nll_mse(out, y, n):
    return F.mse_loss(out, y, reduction="none").mean(1), None, "mse_loss"


def make_case(label, kind, param, n, outputs, targets):
    outputs = outputs.float().double()
    targets = targets.float().double()
    fn = {"cholesky": nll_cholesky, "ldl": nll_ldl, "diag": nll_diagonal, "mse": nll_mse}[
        param if kind == "cov" else kind
    ]
    case = {"label": label, "kind": kind, "n": n}
    if kind == "cov":
        case["param"] = param
    case["outputs"] = outputs.tolist()
    case["targets"] = targets.tolist()
    for reduction in ["mean", "sum"]:
        x = outputs.clone().requires_grad_(True)
        nll, scale, route = fn(x, targets, n)
        total = nll.mean() if reduction == "mean" else nll.sum()
        (grad,) = torch.autograd.grad(total, x)
        case[reduction] = [total.item()]
        case["grad_" + reduction] = grad.tolist()
    nll = nll.detach()
    case["nll"] = nll.tolist()
    full = 0.0 if kind == "mse" else 0.5 * n * math.log(2 * math.pi)
    case["nll_full"] = (nll + full).tolist()
    case["route"] = route
    compare = bool(torch.isfinite(nll).all())
    if scale is not None:
        r = (targets - outputs[:, :n]).unsqueeze(-1)
        z = torch.linalg.solve_triangular(scale.detach(), r, upper=False)
        case["max_abs_z"] = z.abs().max().item()
        compare &= case["max_abs_z"] <= RESIDUAL_SATURATION
    case["compare"] = compare
    return case


def head(n, batch, gen, mean_sd, diag_sd, off_sd):
    m = n * (n - 1) // 2
    return torch.cat(
        [
            torch.randn(batch, n, generator=gen) * mean_sd,
            torch.randn(batch, n, generator=gen) * diag_sd,
            torch.randn(batch, m, generator=gen) * off_sd,
        ],
        dim=1,
    )


def extreme_heads(n, pattern):
    """Two galaxies with log-diagonals of +-30 and off-diagonals of +-1e3."""
    m = n * (n - 1) // 2
    signs = torch.tensor([(-1.0) ** k for k in range(max(m, 1))])[:m]
    rows = []
    for g in range(2):
        if pattern == "large_var":
            diag = torch.full((n,), 30.0)
        elif pattern == "small_var":
            diag = torch.full((n,), -30.0)
        else:  # alternating
            diag = torch.tensor([30.0 if (k + g) % 2 == 0 else -30.0 for k in range(n)])
        rows.append(torch.cat([torch.linspace(-1, 1, n) * (g + 1), diag, 1e3 * signs]))
    return torch.stack(rows)


def main():
    gen = torch.Generator().manual_seed(20221)
    files = {"cholesky": [], "ldl": [], "diagonal": [], "mse": []}
    for n in [1, 2, 3, 5]:
        cov_width = n + n * (n + 1) // 2
        for param in ["cholesky", "ldl"]:
            out = head(n, 4, gen, 1.0, 0.5, 0.7)
            files[param].append(make_case("random", "cov", param, n, out, torch.randn(4, n, generator=gen)))
            out = head(n, 3, gen, 2.0, 2.0, 3.0)
            files[param].append(make_case("wide", "cov", param, n, out, 3 * torch.randn(3, n, generator=gen)))
            for pattern in ["large_var", "small_var", "alternating"]:
                out = extreme_heads(n, pattern)
                assert out.shape[1] == cov_width
                y = torch.linspace(-2, 2, 2 * n).reshape(2, n)
                files[param].append(make_case("extreme_" + pattern, "cov", param, n, out, y))
            # Clamped small variances (log-diagonal -30) where the residual is tiny too.
            m = n * (n - 1) // 2
            out = torch.cat([torch.zeros(2, n), torch.full((2, n), -30.0), 1e-6 * torch.ones(2, m)], 1)
            y = 1e-7 * torch.arange(1.0, 2 * n + 1).reshape(2, n)
            files[param].append(make_case("small_var_tiny_residual", "cov", param, n, out, y))
            # Large off-diagonals with moderate diagonals: stays within the saturation bound.
            out = head(n, 2, gen, 1.0, 0.3, 1.0)
            out[:, 2 * n :] = 1e3 * torch.sign(out[:, 2 * n :])
            out[:, n : 2 * n] += 8.0
            files[param].append(make_case("large_offdiag", "cov", param, n, out, torch.randn(2, n, generator=gen)))
        out = head(n, 4, gen, 1.0, 1.0, 0.0)[:, : 2 * n]
        files["diagonal"].append(make_case("random", "diag", None, n, out, torch.randn(4, n, generator=gen)))
        out = torch.cat([torch.randn(2, n, generator=gen), torch.tensor([[30.0], [-30.0]]).expand(2, n)], 1)
        files["diagonal"].append(make_case("extreme", "diag", None, n, out, torch.randn(2, n, generator=gen)))
        out = torch.randn(4, n, generator=gen) * 3
        files["mse"].append(make_case("random", "mse", None, n, out, torch.randn(4, n, generator=gen)))
    for name, cases in files.items():
        path = os.path.join(ROOT, "fixtures", f"loss_{name}.json")
        with open(path, "w") as f:
            json.dump({"generator": "tools/fixtures_loss.py", "torch": torch.__version__, "cases": cases}, f)
        skipped = [f"n={c['n']} {c['label']}" for c in cases if not c["compare"]]
        routes = sorted({c["route"] for c in cases})
        print(f"{path}: {len(cases)} cases, routes {routes}, not compared (saturated): {skipped}")


if __name__ == "__main__":
    main()
