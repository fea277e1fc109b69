//! The simulator against an independent renderer: GalSim's images of the same galaxies
//! under the same conditions (`tools/compare_galsim.py`, fixture `fixtures/galsim/`),
//! compared by total flux, peak pixel and half-light radius.

use std::path::PathBuf;

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Reference {
    pixel_scale: f64,
    image_size: usize,
    moffat_beta: f64,
    zero_point: f64,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    magnitude: f64,
    bt: f64,
    bulge_re: f64,
    disk_re: f64,
    bulge_q: f64,
    disk_q: f64,
    bulge_pa: f64,
    disk_pa: f64,
    psf_fwhm: f64,
    flux: f64,
    peak: f64,
    hlr_pix: f64,
}

fn reference() -> Reference {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/galsim/reference.json");
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

/// Total, peak, and the circular half-light radius about the centre in pixels, defined as
/// in the fixture script: rings of equal squared distance, linear interpolation between the
/// two rings that straddle half the total.
fn summary(a: &[f64], n: usize) -> (f64, f64, f64) {
    let c = (n as f64 - 1.0) / 2.0;
    let mut rings: std::collections::BTreeMap<u64, f64> = Default::default();
    for (i, v) in a.iter().enumerate() {
        let (dy, dx) = ((i / n) as f64 - c, (i % n) as f64 - c);
        // Squared distances are multiples of 1/4: exact as integers of quarters.
        *rings
            .entry((4.0 * (dx * dx + dy * dy)).round() as u64)
            .or_default() += v;
    }
    let total: f64 = rings.values().sum();
    let peak = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut lo_r, mut lo_c) = (0.0, 0.0);
    for (q, f) in rings {
        let (r, cum) = ((q as f64 / 4.0).sqrt(), lo_c + f);
        if cum >= total / 2.0 {
            return (
                total,
                peak,
                lo_r + (r - lo_r) * (total / 2.0 - lo_c) / (cum - lo_c),
            );
        }
        (lo_r, lo_c) = (r, cum);
    }
    (total, peak, f64::NAN)
}

/// Relative tolerance on the total flux.
const FLUX_TOL: f64 = 0.003;
/// Relative tolerance on the half-light radius.
const HLR_TOL: f64 = 0.01;
/// Relative tolerance on the peak pixel. The convolution runs at the pixel scale, with the
/// galaxy integrated over each pixel and the PSF sampled at pixel centres; a bulge whose
/// cusp sits within a pixel (0.15 arcsec, case 0) is not band-limited at that scale and its
/// peak comes out about 2 % low (with the pixel response applied twice, as before, 4 %).
/// Closing it needs the convolution on a finer grid (about 4x the rendering cost at 2x).
const PEAK_TOL: f64 = 0.025;

#[test]
fn images_match_galsim() {
    let r = reference();
    let config = SimulatorConfig {
        image_size: r.image_size,
        pixel_scale: r.pixel_scale,
        zero_point: r.zero_point,
        psf: PsfShape::Moffat {
            beta: r.moffat_beta,
        },
        noise: false,
        neighbour_probability: 0.0,
        ..SimulatorConfig::default()
    };
    let mut renderer = Renderer::new(&config);
    let parts = Parts {
        bulge: true,
        disk: true,
        neighbour: false,
        psf: true,
        noise: false,
    };
    let (mut worst_peak, mut worst_hlr): (f64, f64) = (0.0, 0.0);
    let mut failures = 0;
    for (k, c) in r.cases.iter().enumerate() {
        let params = GalaxyParams {
            galaxy: BulgeDisk {
                magnitude: c.magnitude,
                bt: c.bt,
                bulge_re: c.bulge_re,
                disk_re: c.disk_re,
                bulge_q: c.bulge_q,
                disk_q: c.disk_q,
                bulge_pa: c.bulge_pa,
                disk_pa: c.disk_pa,
            },
            offset: (0.0, 0.0),
            psf_fwhm: c.psf_fwhm,
            neighbour: None,
            noise_seed: 0,
        };
        let img = renderer.render(&params, parts);
        let data: Vec<f64> = img.data.iter().map(|&v| v as f64).collect();
        let (flux, peak, hlr) = summary(&data, r.image_size);
        let rel = |a: f64, b: f64| a / b - 1.0;
        let (df, dp, dh) = (rel(flux, c.flux), rel(peak, c.peak), rel(hlr, c.hlr_pix));
        eprintln!(
            "case {k}: flux {:+.2} %, peak {:+.2} %, half-light radius {:+.2} %",
            100.0 * df,
            100.0 * dp,
            100.0 * dh
        );
        // Flux: both lose the same light outside the stamp. Peak and size: the Moffat kernel
        // is cut at 4 FWHM and renormalised (0.35 % of its light moved inwards).
        assert!(
            df.abs() < FLUX_TOL,
            "case {k}: flux {flux} vs GalSim {}",
            c.flux
        );
        failures += usize::from(dp.abs() > PEAK_TOL || dh.abs() > HLR_TOL);
        worst_peak = worst_peak.max(dp.abs());
        worst_hlr = worst_hlr.max(dh.abs());
    }
    eprintln!(
        "against GalSim: worst peak {:.2} %, worst half-light radius {:.2} %",
        100.0 * worst_peak,
        100.0 * worst_hlr
    );
    assert_eq!(
        failures, 0,
        "peak beyond {PEAK_TOL} or half-light radius beyond {HLR_TOL}"
    );
}
