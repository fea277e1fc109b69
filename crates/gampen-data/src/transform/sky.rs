//! The sky noise of cutouts, estimated robustly from their borders: the natural arsinh
//! softening (Lupton, Gunn & Szalay 1999 put the softening near the noise, so that every
//! pixel with signal is in the logarithmic regime).

use crate::stats::quantile_sorted;
use crate::{DataError, Image};

/// Scale factor from the median absolute deviation to the standard deviation of a normal.
const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// Width of the border frame, in pixels, for a cutout of side `side`: a sixteenth of it, at
/// least 2, so the frame stays on the sky for the centred galaxies cutouts hold.
fn frame_width(side: usize) -> usize {
    (side / 16).max(2)
}

/// The first band's border pixels (a frame of [`frame_width`]).
fn border(img: &Image) -> Vec<f64> {
    let (h, w) = (img.height, img.width);
    let f = frame_width(h.min(w));
    let mut out = Vec::with_capacity(2 * f * (h + w));
    for y in 0..h {
        for x in 0..w {
            if y < f || y + f >= h || x < f || x + f >= w {
                out.push(img.data[y * w + x] as f64);
            }
        }
    }
    out
}

/// The median of `values`, `None` when empty.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_unstable_by(f64::total_cmp);
    (!values.is_empty()).then(|| quantile_sorted(&values, 0.5))
}

/// The sky noise of one cutout: 1.4826 times the median absolute deviation of its first
/// band's border pixels (robust to a neighbour or a galaxy's wing crossing the frame).
/// `None` when the border holds no finite pixel.
pub fn sky_sigma(img: &Image) -> Option<f64> {
    let pixels: Vec<f64> = border(img).into_iter().filter(|v| v.is_finite()).collect();
    let centre = median(pixels.clone())?;
    median(pixels.iter().map(|v| (v - centre).abs()).collect()).map(|mad| MAD_TO_SIGMA * mad)
}

/// The median over `images` of their [`sky_sigma`]: the arsinh softening fitted on a
/// training split. Errors when no cutout has a positive, finite estimate (noiseless or
/// constant borders), since a softening of zero would turn the arsinh into a sign function.
pub fn median_sky_sigma<'a>(images: impl IntoIterator<Item = &'a Image>) -> Result<f64, DataError> {
    let sigmas: Vec<f64> = images
        .into_iter()
        .filter_map(sky_sigma)
        .filter(|s| s.is_finite() && *s > 0.0)
        .collect();
    median(sigmas).ok_or_else(|| {
        DataError::Config(
            "cannot fit the arsinh softening to the sky noise: no cutout has a noisy border \
             (give the softening as a number instead)"
                .into(),
        )
    })
}

/// GaMPEN's arsinh softening (1 in data units), and what checkpoints saved before the
/// softening was an option read as.
pub const GAMPEN_SOFTENING: f64 = 1.0;

/// [`GAMPEN_SOFTENING`] as a function, for serde's field defaults.
pub(crate) fn gampen_softening() -> f64 {
    GAMPEN_SOFTENING
}

/// Refuses an arsinh softening that is not a positive finite number: the one rule for a
/// saved preprocessing and a command line.
pub(crate) fn check_softening(softening: f64) -> Result<(), DataError> {
    if softening.is_finite() && softening > 0.0 {
        Ok(())
    } else {
        Err(DataError::Config(format!(
            "arsinh_softening = {softening} must be a positive number"
        )))
    }
}

/// How the arsinh softening of a training run is chosen: on a command line a positive
/// number (in the cutouts' pixel units; GaMPEN's is 1) or `noise`, fitted to the training
/// split's sky noise ([`median_sky_sigma`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Softening {
    /// This value.
    Value(f64),
    /// The training split's median sky noise.
    SkyNoise,
}

impl Default for Softening {
    /// GaMPEN's: 1 in data units.
    fn default() -> Self {
        Self::Value(GAMPEN_SOFTENING)
    }
}

impl std::str::FromStr for Softening {
    type Err = DataError;

    /// `noise` (or `sky-noise`), or a positive finite number.
    fn from_str(text: &str) -> Result<Self, DataError> {
        let text = text.trim();
        if matches!(text.to_ascii_lowercase().as_str(), "noise" | "sky-noise") {
            return Ok(Self::SkyNoise);
        }
        match text.parse::<f64>() {
            Ok(b) if check_softening(b).is_ok() => Ok(Self::Value(b)),
            _ => Err(DataError::Config(format!(
                "arsinh softening {text:?}: use a positive number or \"noise\""
            ))),
        }
    }
}

impl std::fmt::Display for Softening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(b) => write!(f, "{b}"),
            Self::SkyNoise => f.write_str("noise"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    fn noisy(sigma: f64, seed: u64) -> Image {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let normal = Normal::new(0.0, sigma).unwrap();
        let (s, c) = (48usize, 24.0f64);
        let data = (0..s * s)
            .map(|i| {
                let (y, x) = ((i / s) as f64 - c, (i % s) as f64 - c);
                // A bright galaxy in the middle that must not bias the estimate.
                let galaxy = 1e3 * (-(x * x + y * y) / 18.0).exp();
                (galaxy + normal.sample(&mut rng)) as f32
            })
            .collect();
        Image::new(data, 1, s, s)
    }

    #[test]
    fn recovers_the_noise_of_gaussian_borders() {
        let images: Vec<Image> = (0..20).map(|k| noisy(0.05, k)).collect();
        let sigma = median_sky_sigma(&images).unwrap();
        assert!((sigma / 0.05 - 1.0).abs() < 0.05, "{sigma}");
    }

    #[test]
    fn noiseless_cutouts_are_an_error() {
        let flat = Image::new(vec![1.0; 32 * 32], 1, 32, 32);
        let err = median_sky_sigma([&flat]).unwrap_err().to_string();
        assert!(err.contains("arsinh softening"), "{err}");
    }

    #[test]
    fn nan_borders_are_skipped() {
        let mut img = noisy(0.1, 3);
        img.data[0] = f32::NAN;
        let sigma = sky_sigma(&img).unwrap();
        assert!(
            sigma.is_finite() && (sigma / 0.1 - 1.0).abs() < 0.2,
            "{sigma}"
        );
    }

    #[test]
    fn softening_parses_numbers_and_noise() {
        assert_eq!("noise".parse::<Softening>().unwrap(), Softening::SkyNoise);
        assert_eq!(
            " 0.05 ".parse::<Softening>().unwrap(),
            Softening::Value(0.05)
        );
        for bad in ["0", "-1", "nan", "inf", "sky"] {
            let err = bad.parse::<Softening>().unwrap_err().to_string();
            assert!(err.contains("positive number"), "{bad}: {err}");
        }
        assert_eq!(Softening::default().to_string(), "1");
    }
}
