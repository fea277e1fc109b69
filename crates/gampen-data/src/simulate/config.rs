//! The simulator's configuration: parameter ranges, PSF, noise, pixel scale, image size.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::psf::PsfShape;
use crate::DataError;

/// A range sampled uniformly (or log-uniformly).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Lower end.
    pub min: f64,
    /// Upper end (equal to `min` for a fixed value).
    pub max: f64,
    /// Sample uniformly in `ln x` instead of `x` (both ends must be positive).
    #[serde(default)]
    pub log: bool,
}

impl Range {
    /// Uniform in `[min, max]`.
    pub const fn uniform(min: f64, max: f64) -> Self {
        Range {
            min,
            max,
            log: false,
        }
    }

    /// Log-uniform in `[min, max]`.
    pub const fn log_uniform(min: f64, max: f64) -> Self {
        Range {
            min,
            max,
            log: true,
        }
    }

    /// A fixed value.
    pub const fn fixed(v: f64) -> Self {
        Range::uniform(v, v)
    }

    /// Draws a value.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = rng.random();
        if self.log {
            (self.min.ln() + u * (self.max.ln() - self.min.ln())).exp()
        } else {
            self.min + u * (self.max - self.min)
        }
    }

    fn check(&self, name: &str, lo: f64, hi: f64) -> Result<(), DataError> {
        let ok = self.min.is_finite()
            && self.max.is_finite()
            && self.min <= self.max
            && self.min >= lo
            && self.max <= hi
            && (!self.log || self.min > 0.0);
        if ok {
            Ok(())
        } else {
            Err(DataError::Config(format!(
                "{name} range [{}, {}] must be ordered and within [{lo}, {hi}]",
                self.min, self.max
            )))
        }
    }
}

/// Everything the simulator draws from. Defaults resemble HSC-Wide g-band cutouts of
/// z < 0.25 galaxies (the sample of GaMPEN's first paper), on 64x64 cutouts for speed
/// (the public GaMPEN model for that bin uses 239x239: set `image_size`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimulatorConfig {
    /// Cutout side, pixels.
    pub image_size: usize,
    /// Arcsec per pixel (HSC: 0.168).
    pub pixel_scale: f64,
    /// Magnitude zero-point: `mag = -2.5 log10(flux / ADU) + zero_point` (HSC coadds: 27).
    pub zero_point: f64,
    /// Total apparent magnitude of the galaxy.
    pub magnitude: Range,
    /// Bulge-to-total light ratio.
    pub bt: Range,
    /// Bulge (n = 4) half-light semi-major axis, arcsec.
    pub bulge_re: Range,
    /// Disk (n = 1) half-light semi-major axis, arcsec.
    pub disk_re: Range,
    /// Bulge axis ratio b/a.
    pub bulge_q: Range,
    /// Disk axis ratio b/a.
    pub disk_q: Range,
    /// Give the bulge the disk's position angle (otherwise both are drawn independently).
    pub align_position_angles: bool,
    /// PSF profile.
    pub psf: PsfShape,
    /// PSF FWHM (seeing), arcsec, drawn per galaxy.
    pub psf_fwhm: Range,
    /// Sky surface brightness, mag / arcsec^2 (dark-sky g band: ~22).
    pub sky_mag_per_arcsec2: f64,
    /// Effective gain, electrons per ADU, of the (coadded) image; sets the Poisson noise.
    /// With the default sky it gives a sky noise of 0.045 ADU per pixel, roughly the depth of
    /// HSC-Wide g (5 sigma point source ~ 26.5 mag).
    pub gain: f64,
    /// Add Poisson noise (object + sky, then subtract the sky level, as in sky-subtracted
    /// survey cutouts). Off gives noiseless images.
    pub noise: bool,
    /// Convolve with the PSF.
    pub convolve_psf: bool,
    /// Largest random offset of the galaxy centre from the cutout centre, pixels, per axis.
    pub max_offset: f64,
    /// Probability of a neighbouring galaxy in the frame.
    pub neighbour_probability: f64,
    /// Neighbour magnitude minus the galaxy's magnitude.
    pub neighbour_magnitude_offset: Range,
    /// Neighbour distance from the cutout centre, in units of the cutout side.
    pub neighbour_distance: Range,
    /// Seed; galaxy `i` uses a seed derived from `(seed, i)`, so results do not depend on
    /// the number of threads.
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            image_size: 64,
            pixel_scale: 0.168,
            zero_point: 27.0,
            magnitude: Range::uniform(17.0, 22.0),
            bt: Range::uniform(0.0, 1.0),
            bulge_re: Range::log_uniform(0.15, 1.5),
            disk_re: Range::log_uniform(0.5, 3.0),
            bulge_q: Range::uniform(0.6, 1.0),
            disk_q: Range::uniform(0.2, 1.0),
            align_position_angles: true,
            psf: PsfShape::Moffat { beta: 3.0 },
            psf_fwhm: Range::uniform(0.6, 0.9),
            sky_mag_per_arcsec2: 22.0,
            gain: 1400.0,
            noise: true,
            convolve_psf: true,
            max_offset: 0.5,
            neighbour_probability: 0.2,
            neighbour_magnitude_offset: Range::uniform(0.0, 3.0),
            neighbour_distance: Range::uniform(0.2, 0.5),
            seed: 0,
        }
    }
}

impl SimulatorConfig {
    /// Checks every range and value, naming the first bad one.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.image_size < 4 {
            return Err(DataError::Config(format!(
                "image_size {} < 4",
                self.image_size
            )));
        }
        for (name, v) in [("pixel_scale", self.pixel_scale), ("gain", self.gain)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(DataError::Config(format!("{name} = {v} must be positive")));
            }
        }
        if !self.zero_point.is_finite() || !self.sky_mag_per_arcsec2.is_finite() {
            return Err(DataError::Config(
                "zero_point and sky magnitude must be finite".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.neighbour_probability) {
            return Err(DataError::Config(format!(
                "neighbour_probability {} outside [0, 1]",
                self.neighbour_probability
            )));
        }
        if !(self.max_offset >= 0.0 && self.max_offset.is_finite()) {
            return Err(DataError::Config(format!(
                "max_offset {} < 0",
                self.max_offset
            )));
        }
        if let PsfShape::Moffat { beta } = self.psf {
            if !(beta > 1.0 && beta.is_finite()) {
                return Err(DataError::Config(format!(
                    "Moffat beta {beta} must exceed 1"
                )));
            }
        }
        let inf = f64::INFINITY;
        self.magnitude.check("magnitude", -inf, inf)?;
        self.bt.check("bt", 0.0, 1.0)?;
        self.bulge_re.check("bulge_re", 1e-6, inf)?;
        self.disk_re.check("disk_re", 1e-6, inf)?;
        self.bulge_q.check("bulge_q", 1e-3, 1.0)?;
        self.disk_q.check("disk_q", 1e-3, 1.0)?;
        self.psf_fwhm.check("psf_fwhm", 1e-6, inf)?;
        self.neighbour_magnitude_offset
            .check("neighbour_magnitude_offset", -inf, inf)?;
        self.neighbour_distance
            .check("neighbour_distance", 0.0, inf)?;
        Ok(())
    }

    /// Sky level per pixel, ADU.
    pub fn sky_per_pixel(&self) -> f64 {
        10f64.powf(-0.4 * (self.sky_mag_per_arcsec2 - self.zero_point))
            * self.pixel_scale
            * self.pixel_scale
    }

    /// Standard deviation of the sky noise per pixel, ADU (0 without noise).
    pub fn sky_sigma(&self) -> f64 {
        if self.noise {
            (self.sky_per_pixel() / self.gain).sqrt()
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_valid_and_hsc_like() {
        let c = SimulatorConfig::default();
        c.validate().unwrap();
        assert!((c.sky_sigma() - 0.045).abs() < 0.002, "{}", c.sky_sigma());
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<SimulatorConfig>(&json).unwrap(), c);
        // Partial JSON takes defaults for the rest.
        let p: SimulatorConfig = serde_json::from_str(r#"{"image_size": 32}"#).unwrap();
        assert_eq!(p.image_size, 32);
        let bad = SimulatorConfig {
            bt: Range::uniform(0.0, 1.5),
            ..c
        };
        assert!(bad.validate().unwrap_err().to_string().contains("bt"));
    }
}
