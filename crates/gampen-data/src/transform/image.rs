//! Image transforms: arsinh normalisation, centre crop, band repetition, and the training
//! augmentations (flips, quarter turns, arbitrary rotations with bilinear interpolation),
//! fused into one resampling pass from the cached cutout into the batch buffer.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::Image;

/// GaMPEN's normalisation `x -> asinh(x / b)` (`b = 1`: GaMPEN's `ln(x + sqrt(x^2 + 1))`),
/// in place; odd, so negative sky pixels stay symmetric about zero.
///
/// The softening `b` sets where the map turns from linear to logarithmic (Lupton, Gunn &
/// Szalay 1999). With `b` near the sky noise every pixel with signal is in the logarithmic
/// regime, so a galaxy's brightness becomes an additive offset of its image and its shape
/// the differences, whatever its magnitude; with `b = 1` in data units, faint galaxies stay
/// in the linear regime and bright ones do not.
pub fn arsinh_normalize(data: &mut [f32], softening: f32) {
    let inv = 1.0 / softening;
    data.iter_mut().for_each(|v| *v = (*v * inv).asinh());
}

/// Which random augmentations to draw for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AugmentOptions {
    /// Random left-right flip with probability 1/2.
    pub hflip: bool,
    /// Random up-down flip with probability 1/2.
    pub vflip: bool,
    /// Random quarter turn `k * 90` degrees, exact (no interpolation). Ignored when
    /// `rotate` is on.
    pub rot90: bool,
    /// Random rotation by a uniform angle in `[0, 360)` degrees with bilinear
    /// interpolation (GaMPEN's `RandomRotation(360)`); pixels from outside the cutout are 0.
    pub rotate: bool,
}

impl Default for AugmentOptions {
    /// GaMPEN's training augmentation: both flips and a rotation in `[0, 360)`.
    fn default() -> Self {
        AugmentOptions {
            hflip: true,
            vflip: true,
            rot90: false,
            rotate: true,
        }
    }
}

impl AugmentOptions {
    /// The eight exact symmetries of the square: both flips and quarter turns. No pixel is
    /// interpolated and none comes from outside the cutout, so the augmented images keep the
    /// noise of the real ones, which GaMPEN's any-angle bilinear rotation does not (it
    /// averages neighbouring pixels and fills corners with zeros; docs/accuracy.md).
    pub fn dihedral() -> Self {
        AugmentOptions {
            hflip: true,
            vflip: true,
            rot90: true,
            rotate: false,
        }
    }
}

/// The training augmentation, as a command line names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Augmentation {
    /// Both flips and a rotation by any angle, bilinear (GaMPEN's; `AugmentOptions::default`).
    #[default]
    Rotate,
    /// Both flips and quarter turns, exact (`AugmentOptions::dihedral`).
    Dihedral,
}

impl Augmentation {
    /// The augmentations this names.
    pub fn options(self) -> AugmentOptions {
        match self {
            Self::Rotate => AugmentOptions::default(),
            Self::Dihedral => AugmentOptions::dihedral(),
        }
    }
}

/// One drawn augmentation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Augment {
    /// Mirror columns.
    pub hflip: bool,
    /// Mirror rows.
    pub vflip: bool,
    /// Quarter turns counter-clockwise (as drawn with row 0 at the top), 0..4.
    pub quarter_turns: u8,
    /// Extra rotation in degrees, counter-clockwise, applied with bilinear interpolation.
    pub angle_deg: f32,
}

impl Augment {
    /// Draws an augmentation.
    pub fn sample<R: Rng + ?Sized>(opts: &AugmentOptions, rng: &mut R) -> Self {
        Augment {
            hflip: opts.hflip && rng.random_bool(0.5),
            vflip: opts.vflip && rng.random_bool(0.5),
            quarter_turns: if opts.rot90 && !opts.rotate {
                rng.random_range(0..4)
            } else {
                0
            },
            angle_deg: if opts.rotate {
                rng.random_range(0.0..360.0)
            } else {
                0.0
            },
        }
    }
}

/// Writes the centre `size x size` crop of `src`, augmented by `aug`, as `channels`
/// channels into `out` (flips first, then the rotation, all about the crop centre).
///
/// The crop starts at row `(height - size) / 2` and column `(width - size) / 2` (integer
/// division). A one-band image is repeated into every channel; otherwise `src.bands` must
/// equal `channels`. An arbitrary rotation samples the whole cutout, so a cutout larger than
/// the crop fills the corners with real pixels.
///
/// # Shapes
/// `src`: `[bands, H, W]` with `H, W >= size`; `out`: `channels * size * size`.
///
/// # Panics
/// On the size and band preconditions above (checked by the dataset at load time).
pub fn crop_augment_into(
    src: &Image,
    size: usize,
    channels: usize,
    aug: &Augment,
    out: &mut [f32],
) {
    assert!(
        src.height >= size && src.width >= size,
        "cutout smaller than crop"
    );
    assert!(
        src.bands == 1 || src.bands == channels,
        "band/channel mismatch"
    );
    assert_eq!(out.len(), channels * size * size);
    let plane = size * size;
    let top = (src.height - size) / 2;
    let left = (src.width - size) / 2;
    let bands = src.bands.min(channels);
    if aug.angle_deg == 0.0 {
        for b in 0..bands {
            let band = src.band(b);
            let dst = &mut out[b * plane..(b + 1) * plane];
            for i in 0..size {
                for j in 0..size {
                    let (mut a, mut c) = (i, j);
                    for _ in 0..aug.quarter_turns % 4 {
                        // np.rot90: out[i, j] = in[j, n - 1 - i]
                        (a, c) = (c, size - 1 - a);
                    }
                    if aug.vflip {
                        a = size - 1 - a;
                    }
                    if aug.hflip {
                        c = size - 1 - c;
                    }
                    dst[i * size + j] = band[(top + a) * src.width + left + c];
                }
            }
        }
    } else {
        let angle = (aug.angle_deg as f64 + 90.0 * (aug.quarter_turns % 4) as f64).to_radians();
        let (s, c) = angle.sin_cos();
        let half = (size as f64 - 1.0) / 2.0;
        let (cy, cx) = (top as f64 + half, left as f64 + half);
        for b in 0..bands {
            let band = src.band(b);
            let dst = &mut out[b * plane..(b + 1) * plane];
            for i in 0..size {
                for j in 0..size {
                    // Output offset from the centre, x right and y up (row 0 at the top).
                    let (u, v) = (j as f64 - half, half - i as f64);
                    // Inverse rotation, then the flips.
                    let mut x = c * u + s * v;
                    let mut y = -s * u + c * v;
                    if aug.hflip {
                        x = -x;
                    }
                    if aug.vflip {
                        y = -y;
                    }
                    dst[i * size + j] = bilinear(band, src.height, src.width, cy - y, cx + x);
                }
            }
        }
    }
    if src.bands == 1 {
        let (first, rest) = out.split_at_mut(plane);
        for chunk in rest.chunks_exact_mut(plane) {
            chunk.copy_from_slice(first);
        }
    }
}

/// Bilinear sample of a `[h, w]` plane at fractional `(row, col)`, zero outside.
fn bilinear(plane: &[f32], h: usize, w: usize, row: f64, col: f64) -> f32 {
    let r0 = row.floor();
    let c0 = col.floor();
    let (fr, fc) = ((row - r0) as f32, (col - c0) as f32);
    let at = |r: f64, c: f64| -> f32 {
        if r < 0.0 || c < 0.0 || r >= h as f64 || c >= w as f64 {
            0.0
        } else {
            plane[r as usize * w + c as usize]
        }
    };
    let top = at(r0, c0) * (1.0 - fc) + at(r0, c0 + 1.0) * fc;
    let bottom = at(r0 + 1.0, c0) * (1.0 - fc) + at(r0 + 1.0, c0 + 1.0) * fc;
    top * (1.0 - fr) + bottom * fr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(h: usize, w: usize) -> Image {
        Image::new((0..h * w).map(|v| v as f32).collect(), 1, h, w)
    }

    fn run(src: &Image, size: usize, channels: usize, aug: Augment) -> Vec<f32> {
        let mut out = vec![0.0; channels * size * size];
        crop_augment_into(src, size, channels, &aug, &mut out);
        out
    }

    #[test]
    fn centre_crop_and_repeat() {
        let src = img(5, 6);
        let out = run(&src, 3, 3, Augment::default());
        assert_eq!(
            &out[..9],
            &[7.0, 8.0, 9.0, 13.0, 14.0, 15.0, 19.0, 20.0, 21.0]
        );
        assert_eq!(&out[9..18], &out[..9]);
        assert_eq!(&out[18..], &out[..9]);
    }

    #[test]
    fn flips_and_quarter_turn_match_numpy() {
        let src = img(3, 3); // [[0,1,2],[3,4,5],[6,7,8]]
        let h = Augment {
            hflip: true,
            ..Default::default()
        };
        assert_eq!(
            run(&src, 3, 1, h),
            vec![2.0, 1.0, 0.0, 5.0, 4.0, 3.0, 8.0, 7.0, 6.0]
        );
        let v = Augment {
            vflip: true,
            ..Default::default()
        };
        assert_eq!(
            run(&src, 3, 1, v),
            vec![6.0, 7.0, 8.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0]
        );
        // np.rot90([[0,1,2],[3,4,5],[6,7,8]]) = [[2,5,8],[1,4,7],[0,3,6]]
        let r = Augment {
            quarter_turns: 1,
            ..Default::default()
        };
        assert_eq!(
            run(&src, 3, 1, r),
            vec![2.0, 5.0, 8.0, 1.0, 4.0, 7.0, 0.0, 3.0, 6.0]
        );
    }

    #[test]
    fn arbitrary_angle_agrees_with_quarter_turn_at_90() {
        let src = img(7, 7);
        let exact = run(
            &src,
            5,
            1,
            Augment {
                quarter_turns: 1,
                ..Default::default()
            },
        );
        let interp = run(
            &src,
            5,
            1,
            Augment {
                angle_deg: 90.0,
                ..Default::default()
            },
        );
        for (a, b) in exact.iter().zip(&interp) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        // A 45 degree turn of a constant image keeps the centre and zero-fills no pixel
        // inside the inscribed circle.
        let ones = Image::new(vec![1.0; 81], 1, 9, 9);
        let out = run(
            &ones,
            9,
            1,
            Augment {
                angle_deg: 45.0,
                ..Default::default()
            },
        );
        assert!((out[4 * 9 + 4] - 1.0).abs() < 1e-6);
        assert!(out[0] < 1.0);
    }

    #[test]
    fn arsinh_matches_formula() {
        let mut v = vec![-1e4f32, -1.0, 0.0, 0.5, 1e4];
        let want: Vec<f32> = v
            .iter()
            .map(|&x| (x as f64 + (x as f64 * x as f64 + 1.0).sqrt()).ln() as f32)
            .collect();
        arsinh_normalize(&mut v, 1.0);
        for (a, b) in v.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn softening_divides_before_the_asinh() {
        let (x, b) = (3.0f32, 0.05f32);
        let mut v = vec![x, -x];
        arsinh_normalize(&mut v, b);
        let want = ((x / b) as f64).asinh() as f32;
        assert!(
            (v[0] - want).abs() < 1e-5 && (v[1] + want).abs() < 1e-5,
            "{v:?} vs {want}"
        );
    }
}
