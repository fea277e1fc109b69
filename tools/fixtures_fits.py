#!/usr/bin/env python3
"""Writes the small FITS fixtures read by gampen-data's tests (fixtures/fits/).

Usage:
    python3 tools/fixtures_fits.py            # (re)write fixtures/fits/*.fits and expected.json
    python3 tools/fixtures_fits.py --check F  # read a FITS file written by gampen-data with
                                              # astropy and print its header and pixel stats

Every image is 8 columns x 6 rows (NAXIS1 = 8, NAXIS2 = 6); expected.json holds, per file,
the shape [bands, height, width] in numpy order and the physical pixel values (after
BSCALE/BZERO; null for NaN/BLANK) in storage order. Needs numpy and astropy.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "fits"
H, W = 6, 8


def values(a):
    a = np.asarray(a, dtype=np.float64)
    return [None if not math.isfinite(v) else float(v) for v in a.ravel()]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}
    base = np.arange(H * W).reshape(H, W)

    def save(name, hdul, data, hdu_index):
        hdul.writeto(OUT / name, overwrite=True)
        with fits.open(OUT / name) as check:  # what astropy itself reads back
            got = check[hdu_index].data.astype(np.float64)
        expected[name] = {"hdu": hdu_index, "shape": list(got.shape if got.ndim == 3 else (1,) + got.shape),
                          "values": values(got)}
        assert np.allclose(got, data, equal_nan=True), name

    d8 = (base * 5).astype(np.uint8)
    save("bitpix8.fits", fits.HDUList([fits.PrimaryHDU(d8)]), d8, 0)

    f16 = 100.0 + 0.5 * (base * 37 - 700)
    h16 = fits.PrimaryHDU(f16.copy())
    h16.scale("int16", bscale=0.5, bzero=100.0)
    save("bitpix16_scaled.fits", fits.HDUList([h16]), f16, 0)

    u16 = (base * 1300 + 1).astype(np.uint16)  # astropy writes BITPIX 16 + BZERO 32768
    save("bitpix16_uint.fits", fits.HDUList([fits.PrimaryHDU(u16)]), u16, 0)

    blank = (base - 20).astype(np.int16)
    blank[2, 3] = -32768
    hb = fits.PrimaryHDU(blank)
    hb.header["BLANK"] = -32768
    save("bitpix16_blank.fits", fits.HDUList([hb]), np.where(blank == -32768, np.nan, blank), 0)

    d32 = (base * 40_000_000 - 900_000_000).astype(np.int32)
    save("bitpix32.fits", fits.HDUList([fits.PrimaryHDU(d32)]), d32, 0)

    d64 = (base * 3 - 70).astype(np.int64)
    save("bitpix64.fits", fits.HDUList([fits.PrimaryHDU(d64)]), d64, 0)

    f32 = (np.sin(base * 0.3) * 1e3 + 0.25).astype(np.float32)
    save("bitpix-32.fits", fits.HDUList([fits.PrimaryHDU(f32)]), f32, 0)

    f64 = np.cos(base * 0.7) * 1e-3
    save("bitpix-64.fits", fits.HDUList([fits.PrimaryHDU(f64)]), f64, 0)

    ext = (base * 0.125 - 1.0).astype(np.float32)
    other = np.zeros((3, 3), dtype=np.int16)
    save("extension.fits",
         fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(ext, name="SCI"), fits.ImageHDU(other, name="MASK")]),
         ext, 1)

    cube = (np.arange(3 * H * W).reshape(3, H, W) * 0.5).astype(np.float32)
    save("cube.fits", fits.HDUList([fits.PrimaryHDU(cube)]), cube, 0)

    nan = base.astype(np.float32)
    nan[0, 1] = np.nan
    nan[4, 6] = np.nan
    nan[5, 7] = np.inf
    save("nan.fits", fits.HDUList([fits.PrimaryHDU(nan)]), nan, 0)

    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {len(expected)} files to {OUT}")


def check(path):
    with fits.open(path) as hdul:
        hdul.verify("exception")
        hdr, data = hdul[0].header, hdul[0].data
        print(repr(hdr))
        print("dtype", data.dtype, "shape", data.shape, "sum", float(np.nansum(data.astype(np.float64))),
              "min", float(np.nanmin(data)), "max", float(np.nanmax(data)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main()
