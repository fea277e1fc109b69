#!/usr/bin/env python3
"""Independent check of the simulator's physics (`gampen_data::simulate`) with GalSim.

Run from the repository root: `python3 tools/compare_galsim.py` (needs `pip install galsim`).
Writes fixtures/galsim/reference.json: for a handful of bulge + disk galaxies under the
simulator's nominal conditions (0.168 arcsec pixels, Moffat PSF with beta = 3, no noise,
64 x 64 cutouts, galaxy at the cutout's true centre), GalSim's images summarised as total
flux, peak pixel and half-light radius (circular, about the centre, from the curve of growth
over pixel centres). `crates/gampen-data/src/simulate/galsim_tests.rs` renders the same
galaxies with the simulator and compares the same three numbers.

GalSim draws each image as (galaxy * PSF * pixel) sampled at pixel centres (drawImage's
default method), so the pixel response is applied exactly once; the simulator integrates
the galaxy over each pixel and convolves with the PSF sampled at pixel centres.

Conventions: a component's `re` is its half-light semi-major axis in arcsec (GalSim's
`half_light_radius` of the circular profile before the area-preserving shear is
`re * sqrt(q)`), `pa` the major axis angle in degrees from +x towards +y (GalSim's `beta`).
"""
import json
import os

import galsim
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "galsim")
PIXEL = 0.168
SIZE = 64
BETA = 3.0
ZERO_POINT = 27.0

# (magnitude, bt, bulge_re, disk_re, bulge_q, disk_q, bulge_pa, disk_pa, psf_fwhm)
CASES = [
    (19.0, 1.0, 0.15, 0.5, 1.0, 1.0, 0.0, 0.0, 0.6),  # compact bulge in good seeing
    (19.0, 0.5, 0.30, 0.8, 0.7, 0.5, 30.0, 30.0, 0.75),
    (20.0, 0.0, 0.30, 1.2, 1.0, 0.4, 0.0, 120.0, 0.9),  # inclined disk
    (18.5, 0.3, 0.20, 0.5, 1.0, 1.0, 0.0, 0.0, 0.6),
    (19.5, 0.8, 0.40, 1.0, 0.6, 0.8, 75.0, 10.0, 0.7),
]


def component(n, flux, re, q, pa):
    profile = galsim.Sersic(n=n, half_light_radius=re * np.sqrt(q), flux=flux)
    return profile.shear(q=q, beta=pa * galsim.degrees)


def render(case):
    mag, bt, bre, dre, bq, dq, bpa, dpa, fwhm = case
    flux = 10 ** (-0.4 * (mag - ZERO_POINT))
    parts = []
    if bt > 0:
        parts.append(component(4.0, flux * bt, bre, bq, bpa))
    if bt < 1:
        parts.append(component(1.0, flux * (1 - bt), dre, dq, dpa))
    galaxy = galsim.Add(parts) if len(parts) > 1 else parts[0]
    psf = galsim.Moffat(beta=BETA, fwhm=fwhm)
    big = galsim.GSParams(maximum_fft_size=1 << 14)
    image = galsim.Convolve([galaxy, psf], gsparams=big).drawImage(
        nx=SIZE, ny=SIZE, scale=PIXEL
    )
    return image.array.astype(np.float64)


def summary(a):
    """Total flux, peak pixel, and the circular half-light radius in pixels about the
    cutout's centre: pixels grouped by their centre's squared distance (exact, so both
    languages group alike), flux accumulated ring by ring, and the radius at half the total
    interpolated linearly between the two rings that straddle it."""
    n = a.shape[0]
    c = (n - 1) / 2.0
    yy, xx = np.indices(a.shape)
    r2 = ((xx - c) ** 2 + (yy - c) ** 2).ravel()
    rings, inverse = np.unique(r2, return_inverse=True)
    ring_flux = np.bincount(inverse, weights=a.ravel())
    cum = np.cumsum(ring_flux)
    total = cum[-1]
    k = int(np.searchsorted(cum, total / 2.0))
    radii = np.sqrt(rings)
    lo_r, lo_c = (radii[k - 1], cum[k - 1]) if k > 0 else (0.0, 0.0)
    hlr = lo_r + (radii[k] - lo_r) * (total / 2.0 - lo_c) / (cum[k] - lo_c)
    return float(total), float(a.max()), float(hlr)


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for case in CASES:
        flux, peak, hlr = summary(render(case))
        keys = ["magnitude", "bt", "bulge_re", "disk_re", "bulge_q", "disk_q", "bulge_pa",
                "disk_pa", "psf_fwhm"]
        cases.append({**dict(zip(keys, case)), "flux": flux, "peak": peak, "hlr_pix": hlr})
    reference = {
        "galsim": galsim.__version__,
        "pixel_scale": PIXEL,
        "image_size": SIZE,
        "moffat_beta": BETA,
        "zero_point": ZERO_POINT,
        "cases": cases,
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
