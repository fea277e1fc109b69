//! Drawing one galaxy's parameters and rendering it: bulge + disk (+ neighbour), pixel
//! integration, PSF convolution, sky and Poisson noise.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson};

use super::config::SimulatorConfig;
use super::psf::{fft_size, Convolver};
use super::render::add_sersic;
use super::sersic::{half_light_radius, Sersic};
use super::truth::Truth;
use crate::seed::Seed;
use crate::Image;

/// A bulge + disk pair; radii in arcsec, angles in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BulgeDisk {
    /// Total magnitude.
    pub magnitude: f64,
    /// Bulge-to-total ratio.
    pub bt: f64,
    /// Bulge half-light semi-major axis, arcsec.
    pub bulge_re: f64,
    /// Disk half-light semi-major axis, arcsec.
    pub disk_re: f64,
    /// Bulge axis ratio.
    pub bulge_q: f64,
    /// Disk axis ratio.
    pub disk_q: f64,
    /// Bulge position angle, degrees.
    pub bulge_pa: f64,
    /// Disk position angle, degrees.
    pub disk_pa: f64,
}

impl BulgeDisk {
    fn draw<R: Rng + ?Sized>(c: &SimulatorConfig, magnitude: f64, rng: &mut R) -> Self {
        let bt = c.bt.sample(rng);
        let bulge_re = c.bulge_re.sample(rng);
        let disk_re = c.disk_re.sample(rng);
        let bulge_q = c.bulge_q.sample(rng);
        let disk_q = c.disk_q.sample(rng);
        let disk_pa = rng.random_range(0.0..180.0);
        let other_pa = rng.random_range(0.0..180.0);
        BulgeDisk {
            magnitude,
            bt,
            bulge_re,
            disk_re,
            bulge_q,
            disk_q,
            bulge_pa: if c.align_position_angles {
                disk_pa
            } else {
                other_pa
            },
            disk_pa,
        }
    }

    /// Total flux, ADU.
    pub fn flux(&self, zero_point: f64) -> f64 {
        10f64.powf(-0.4 * (self.magnitude - zero_point))
    }

    /// The two Sersic components in pixel units, centred at `(x0, y0)`.
    pub fn components(&self, c: &SimulatorConfig, x0: f64, y0: f64) -> [Sersic; 2] {
        let flux = self.flux(c.zero_point);
        let comp = |n: f64, f: f64, re: f64, q: f64, pa: f64| Sersic {
            n,
            flux: f,
            r_e: re / c.pixel_scale,
            q,
            pa: pa.to_radians(),
            x0,
            y0,
        };
        [
            comp(
                4.0,
                flux * self.bt,
                self.bulge_re,
                self.bulge_q,
                self.bulge_pa,
            ),
            comp(
                1.0,
                flux * (1.0 - self.bt),
                self.disk_re,
                self.disk_q,
                self.disk_pa,
            ),
        ]
    }
}

/// Everything drawn for one cutout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GalaxyParams {
    /// The galaxy.
    pub galaxy: BulgeDisk,
    /// Offset of its centre from the cutout centre, pixels, `(x, y)`.
    pub offset: (f64, f64),
    /// PSF FWHM, arcsec.
    pub psf_fwhm: f64,
    /// A neighbour and its offset from the cutout centre in pixels, if any.
    pub neighbour: Option<(BulgeDisk, (f64, f64))>,
    /// Seed of the noise.
    pub noise_seed: u64,
}

impl GalaxyParams {
    /// Draws galaxy `index` of the simulation defined by `config` (deterministic).
    pub fn draw(config: &SimulatorConfig, index: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(Seed(config.seed).item(index));
        let magnitude = config.magnitude.sample(&mut rng);
        let galaxy = BulgeDisk::draw(config, magnitude, &mut rng);
        let off = config.max_offset;
        let offset = if off > 0.0 {
            (rng.random_range(-off..=off), rng.random_range(-off..=off))
        } else {
            (0.0, 0.0)
        };
        let psf_fwhm = config.psf_fwhm.sample(&mut rng);
        let neighbour = if rng.random::<f64>() < config.neighbour_probability {
            let mag = magnitude + config.neighbour_magnitude_offset.sample(&mut rng);
            let n = BulgeDisk::draw(config, mag, &mut rng);
            let d = config.neighbour_distance.sample(&mut rng) * config.image_size as f64;
            let angle = rng.random_range(0.0..std::f64::consts::TAU);
            Some((n, (d * angle.cos(), d * angle.sin())))
        } else {
            None
        };
        GalaxyParams {
            galaxy,
            offset,
            psf_fwhm,
            neighbour,
            noise_seed: rng.random(),
        }
    }

    /// The ground truth row for this galaxy.
    pub fn truth(&self, config: &SimulatorConfig, index: u64, file_name: String) -> Truth {
        let g = &self.galaxy;
        let [bulge, disk] = g.components(config, 0.0, 0.0);
        let total = bulge.flux + disk.flux;
        Truth {
            file_name,
            object_id: index,
            total_flux: total,
            magnitude: g.magnitude,
            bt: g.bt,
            r_e: half_light_radius(&[bulge, disk]) * config.pixel_scale,
            bulge_flux: bulge.flux,
            disk_flux: disk.flux,
            bulge_re: g.bulge_re,
            disk_re: g.disk_re,
            bulge_q: g.bulge_q,
            disk_q: g.disk_q,
            bulge_pa: g.bulge_pa,
            disk_pa: g.disk_pa,
            x_offset: self.offset.0,
            y_offset: self.offset.1,
            psf_fwhm: if config.convolve_psf {
                self.psf_fwhm
            } else {
                0.0
            },
            sky_sigma: config.sky_sigma(),
            has_neighbour: self.neighbour.is_some(),
            neighbour_dx: self.neighbour.map(|n| n.1 .0),
            neighbour_dy: self.neighbour.map(|n| n.1 .1),
            neighbour_magnitude: self.neighbour.map(|n| n.0.magnitude),
        }
    }
}

/// Which parts to draw (all on for the simulator; the physics tests switch parts off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// The bulge.
    pub bulge: bool,
    /// The disk.
    pub disk: bool,
    /// The neighbour, if drawn.
    pub neighbour: bool,
    /// PSF convolution (also needs `config.convolve_psf`).
    pub psf: bool,
    /// Noise (also needs `config.noise`).
    pub noise: bool,
}

impl Parts {
    /// Everything.
    pub const ALL: Parts = Parts {
        bulge: true,
        disk: true,
        neighbour: true,
        psf: true,
        noise: true,
    };
}

/// Renders cutouts for one configuration; holds the FFT plans, so keep one per thread.
pub struct Renderer {
    config: SimulatorConfig,
    pad: usize,
    canvas: Vec<f64>,
    convolver: Convolver,
    kernel_fwhm: f64,
}

impl Renderer {
    /// Prepares a renderer (the configuration should be validated).
    pub fn new(config: &SimulatorConfig) -> Self {
        let max_fwhm_pix = config.psf_fwhm.max / config.pixel_scale;
        let radius = config.psf.radius(max_fwhm_pix);
        let n = config.image_size;
        let m = fft_size(n + 2 * radius);
        Renderer {
            config: config.clone(),
            pad: (m - n) / 2,
            canvas: vec![0.0; m * m],
            convolver: Convolver::new(m),
            kernel_fwhm: f64::NAN,
        }
    }

    /// Renders `params` as a one-band `image_size x image_size` cutout in ADU.
    pub fn render(&mut self, params: &GalaxyParams, parts: Parts) -> Image {
        let c = &self.config;
        let m = self.convolver.size();
        let n = c.image_size;
        let centre = self.pad as f64 + (n as f64 - 1.0) / 2.0;
        let canvas = &mut self.canvas;
        canvas.iter_mut().for_each(|v| *v = 0.0);
        let [bulge, disk] =
            params
                .galaxy
                .components(c, centre + params.offset.0, centre + params.offset.1);
        if parts.bulge {
            add_sersic(canvas, m, m, &bulge);
        }
        if parts.disk {
            add_sersic(canvas, m, m, &disk);
        }
        if let (true, Some((nb, (dx, dy)))) = (parts.neighbour, params.neighbour) {
            for comp in nb.components(c, centre + dx, centre + dy) {
                add_sersic(canvas, m, m, &comp);
            }
        }
        if parts.psf && c.convolve_psf {
            if self.kernel_fwhm != params.psf_fwhm {
                let fwhm_pix = params.psf_fwhm / c.pixel_scale;
                let radius = c.psf.radius(fwhm_pix).min((m - 1) / 2);
                self.convolver
                    .set_kernel(&c.psf.kernel(fwhm_pix, radius), radius);
                self.kernel_fwhm = params.psf_fwhm;
            }
            self.convolver.convolve(canvas);
        }
        let mut out = Vec::with_capacity(n * n);
        for i in 0..n {
            let row = (i + self.pad) * m + self.pad;
            out.extend(canvas[row..row + n].iter().map(|&v| v.max(0.0)));
        }
        if parts.noise && c.noise {
            let mut rng = StdRng::seed_from_u64(params.noise_seed);
            let sky = c.sky_per_pixel();
            for v in out.iter_mut() {
                let lambda = (*v + sky) * c.gain;
                let counts = if lambda <= 0.0 {
                    0.0
                } else if lambda < 1000.0 {
                    Poisson::new(lambda).map_or(lambda, |p| p.sample(&mut rng))
                } else {
                    // Normal approximation, relative error of the skewness < 3 %.
                    Normal::new(lambda, lambda.sqrt()).map_or(lambda, |d| d.sample(&mut rng))
                };
                *v = counts / c.gain - sky;
            }
        }
        Image::new(out.into_iter().map(|v| v as f32).collect(), 1, n, n)
    }
}
