//! Physics checks of the simulator: flux conservation, half-light radius, B/T.

use super::*;

fn quiet(size: usize) -> SimulatorConfig {
    SimulatorConfig {
        image_size: size,
        noise: false,
        neighbour_probability: 0.0,
        magnitude: Range::uniform(18.0, 19.0),
        bulge_re: Range::log_uniform(0.25, 0.6),
        disk_re: Range::log_uniform(0.5, 1.2),
        seed: 11,
        ..SimulatorConfig::default()
    }
}

fn only(bulge: bool, disk: bool, psf: bool) -> Parts {
    Parts {
        bulge,
        disk,
        neighbour: false,
        psf,
        noise: false,
    }
}

#[test]
fn psf_convolved_flux_equals_total_flux() {
    let config = quiet(160);
    let mut r = Renderer::new(&config);
    let mut worst: f64 = 0.0;
    for i in 0..6 {
        let p = GalaxyParams::draw(&config, i);
        let t = p.truth(&config, i, file_name(i));
        let img = r.render(&p, Parts::ALL);
        let err = img.sum() / t.total_flux - 1.0;
        worst = worst.max(err.abs());
    }
    eprintln!(
        "flux conservation: worst relative error {:.4} %",
        100.0 * worst
    );
    assert!(worst < 0.01, "{worst}");
}

/// Flux inside a circle of radius `r` pixels around `(cx, cy)`, with each pixel weighted by
/// the fraction of its area inside (16 x 16 sub-samples).
fn aperture(img: &crate::Image, cx: f64, cy: f64, r: f64) -> f64 {
    let mut sum = 0.0;
    for i in 0..img.height {
        for j in 0..img.width {
            let d = ((j as f64 - cx).powi(2) + (i as f64 - cy).powi(2)).sqrt();
            let frac = if d < r - 0.75 {
                1.0
            } else if d > r + 0.75 {
                0.0
            } else {
                let k = 16;
                let mut inside = 0;
                for a in 0..k {
                    for c in 0..k {
                        let x = j as f64 - 0.5 + (c as f64 + 0.5) / k as f64 - cx;
                        let y = i as f64 - 0.5 + (a as f64 + 0.5) / k as f64 - cy;
                        inside += usize::from(x * x + y * y < r * r);
                    }
                }
                inside as f64 / (k * k) as f64
            };
            sum += frac * img.get(0, i, j) as f64;
        }
    }
    sum
}

#[test]
fn half_the_light_within_r_e() {
    // Pixels 4x finer than HSC's so that the aperture's partial pixels (weighted by area)
    // do not bias the measurement of radii of ~2 HSC pixels.
    let config = SimulatorConfig {
        bulge_q: Range::uniform(0.5, 1.0),
        disk_q: Range::uniform(0.3, 1.0),
        pixel_scale: 0.042,
        ..quiet(256)
    };
    let mut r = Renderer::new(&config);
    let mut worst: f64 = 0.0;
    for i in 0..6 {
        let p = GalaxyParams::draw(&config, i);
        let t = p.truth(&config, i, file_name(i));
        let img = r.render(&p, only(true, true, false));
        let c = (config.image_size as f64 - 1.0) / 2.0;
        let frac = aperture(
            &img,
            c + p.offset.0,
            c + p.offset.1,
            t.r_e / config.pixel_scale,
        ) / t.total_flux;
        worst = worst.max((frac / 0.5 - 1.0).abs());
    }
    eprintln!(
        "half-light radius: worst relative error of the enclosed half {:.3} %",
        100.0 * worst
    );
    assert!(worst < 0.02, "{worst}");
}

#[test]
fn bt_recovered_from_separate_components() {
    let config = quiet(160);
    let mut r = Renderer::new(&config);
    for i in 0..4 {
        let p = GalaxyParams::draw(&config, i);
        let bulge = r.render(&p, only(true, false, true)).sum();
        let disk = r.render(&p, only(false, true, true)).sum();
        let bt = bulge / (bulge + disk);
        assert!((bt - p.galaxy.bt).abs() < 0.005, "{bt} vs {}", p.galaxy.bt);
    }
}

#[test]
fn sky_noise_level_and_determinism() {
    let config = SimulatorConfig {
        magnitude: Range::fixed(40.0),
        neighbour_probability: 0.0,
        image_size: 48,
        ..SimulatorConfig::default()
    };
    let sims = simulate_images(&config, 4).unwrap();
    let v: Vec<f64> = sims
        .iter()
        .flat_map(|(img, _)| img.data.iter().map(|&x| x as f64))
        .collect();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    assert!(
        mean.abs() < 0.01 && (std / config.sky_sigma() - 1.0).abs() < 0.05,
        "{mean} {std}"
    );
    let config = SimulatorConfig {
        image_size: 32,
        neighbour_probability: 0.5,
        ..SimulatorConfig::default()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| simulate_images(&config, 12).unwrap());
    let many = simulate_images(&config, 12).unwrap();
    assert_eq!(one, many);
    assert!(one.iter().any(|(_, t)| t.has_neighbour));
}

#[test]
fn low_gain_uses_poisson_and_stays_finite() {
    let config = SimulatorConfig {
        gain: 2.0,
        image_size: 24,
        ..SimulatorConfig::default()
    };
    for (img, t) in simulate_images(&config, 3).unwrap() {
        assert!(img.data.iter().all(|v| v.is_finite()));
        assert!(t.r_e > 0.0 && t.total_flux > 0.0);
        assert!((t.magnitude - (-2.5 * t.total_flux.log10() + 27.0)).abs() < 1e-9);
    }
}
