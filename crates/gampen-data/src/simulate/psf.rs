//! Point-spread functions (Gaussian, Moffat) as kernels sampled at pixel centres, and FFT
//! convolution.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

/// The shape of the PSF; its FWHM is drawn per galaxy from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum PsfShape {
    /// Circular Gaussian.
    Gaussian,
    /// Circular Moffat `(1 + (r/alpha)^2)^(-beta)`, `alpha = FWHM / (2 sqrt(2^(1/beta) - 1))`.
    Moffat {
        /// Power index (ground-based seeing: 2.5 to 4.765).
        beta: f64,
    },
}

impl PsfShape {
    /// Kernel radius in pixels: 3 FWHM for a Gaussian, 4 FWHM for a Moffat (beta = 3 leaves
    /// 0.35 % of the light outside; the kernel is renormalised so no flux is lost).
    pub fn radius(&self, fwhm_pix: f64) -> usize {
        let k = match self {
            PsfShape::Gaussian => 3.0,
            PsfShape::Moffat { .. } => 4.0,
        };
        (k * fwhm_pix).ceil().max(1.0) as usize
    }

    /// The profile (unnormalised) at radius `r` pixels.
    fn profile(&self, fwhm_pix: f64, r2: f64) -> f64 {
        match *self {
            PsfShape::Gaussian => {
                let sigma = fwhm_pix / (2.0 * (2.0 * std::f64::consts::LN_2).sqrt());
                (-0.5 * r2 / (sigma * sigma)).exp()
            }
            PsfShape::Moffat { beta } => {
                let alpha = fwhm_pix / (2.0 * (2f64.powf(1.0 / beta) - 1.0).sqrt());
                (1.0 + r2 / (alpha * alpha)).powf(-beta)
            }
        }
    }

    /// Kernel of side `2 radius + 1`, the profile sampled at pixel centres, summing to 1.
    ///
    /// Sampled, not integrated over each pixel: the galaxy images it convolves are already
    /// integrated over each pixel ([`add_sersic`](super::add_sersic)), and integrating the
    /// kernel as well would apply the pixel response twice (measured against GalSim, about
    /// +2 % size and -4 % peak for a 0.15 arcsec bulge in 0.6 arcsec seeing;
    /// `tools/compare_galsim.py`). One quadrant is evaluated and mirrored (the PSF is
    /// circular).
    ///
    /// # Shapes
    /// Returns `(2r+1)^2` values, row-major, centred.
    pub fn kernel(&self, fwhm_pix: f64, radius: usize) -> Vec<f64> {
        let side = 2 * radius + 1;
        let mut k = vec![0.0; side * side];
        for i in 0..=radius {
            for j in 0..=radius {
                let v = self.profile(fwhm_pix, (i * i + j * j) as f64);
                for (r, c) in [
                    (radius + i, radius + j),
                    (radius - i, radius + j),
                    (radius + i, radius - j),
                    (radius - i, radius - j),
                ] {
                    k[r * side + c] = v;
                }
            }
        }
        let sum: f64 = k.iter().sum();
        k.iter_mut().for_each(|v| *v /= sum);
        k
    }
}

/// Smallest `m >= n` whose prime factors are 2, 3 and 5 (fast FFT sizes).
pub fn fft_size(n: usize) -> usize {
    (n.max(1)..)
        .find(|&m| {
            let mut r = m;
            for p in [2, 3, 5] {
                while r % p == 0 {
                    r /= p;
                }
            }
            r == 1
        })
        .expect("unbounded range")
}

/// 2-D FFT convolution on a square `m x m` canvas (circular: keep the rendered canvas at
/// least one kernel radius larger than the output on every side and crop afterwards).
pub struct Convolver {
    m: usize,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
    scratch: Vec<Complex<f32>>,
    buffer: Vec<Complex<f32>>,
    kernel_hat: Vec<Complex<f32>>,
}

impl Convolver {
    /// Plans FFTs of side `m`.
    pub fn new(m: usize) -> Self {
        let mut planner = FftPlanner::new();
        let forward = planner.plan_fft_forward(m);
        let inverse = planner.plan_fft_inverse(m);
        let scratch_len = forward
            .get_inplace_scratch_len()
            .max(inverse.get_inplace_scratch_len());
        Convolver {
            m,
            forward,
            inverse,
            scratch: vec![Complex::default(); scratch_len],
            buffer: vec![Complex::default(); m * m],
            kernel_hat: vec![Complex::default(); m * m],
        }
    }

    /// Canvas side.
    pub fn size(&self) -> usize {
        self.m
    }

    /// Sets the kernel (`(2r+1)^2`, centred, `2r + 1 <= m`).
    pub fn set_kernel(&mut self, kernel: &[f64], radius: usize) {
        let side = 2 * radius + 1;
        assert!(side <= self.m && kernel.len() == side * side);
        let m = self.m;
        let mut hat = std::mem::take(&mut self.kernel_hat);
        hat.iter_mut().for_each(|v| *v = Complex::default());
        for i in 0..side {
            for j in 0..side {
                let r = (i + m - radius) % m;
                let c = (j + m - radius) % m;
                hat[r * m + c] = Complex::new(kernel[i * side + j] as f32, 0.0);
            }
        }
        self.fft2(&mut hat, true);
        self.kernel_hat = hat;
    }

    /// Convolves the `m x m` canvas in place with the kernel.
    pub fn convolve(&mut self, canvas: &mut [f64]) {
        let m = self.m;
        assert_eq!(canvas.len(), m * m);
        let mut buf = std::mem::take(&mut self.buffer);
        for (b, &v) in buf.iter_mut().zip(canvas.iter()) {
            *b = Complex::new(v as f32, 0.0);
        }
        self.fft2(&mut buf, true);
        for (b, k) in buf.iter_mut().zip(&self.kernel_hat) {
            *b *= *k;
        }
        self.fft2(&mut buf, false);
        let norm = 1.0 / (m * m) as f64;
        for (c, b) in canvas.iter_mut().zip(&buf) {
            *c = b.re as f64 * norm;
        }
        self.buffer = buf;
    }

    /// 2-D FFT: row FFTs, transpose, row FFTs (the columns), transpose back.
    fn fft2(&mut self, data: &mut [Complex<f32>], forward: bool) {
        let m = self.m;
        let fft = if forward {
            &self.forward
        } else {
            &self.inverse
        };
        fft.process_with_scratch(data, &mut self.scratch);
        transpose_square(data, m);
        fft.process_with_scratch(data, &mut self.scratch);
        transpose_square(data, m);
    }
}

fn transpose_square(data: &mut [Complex<f32>], m: usize) {
    for i in 0..m {
        for j in i + 1..m {
            data.swap(i * m + j, j * m + i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_normalised_with_right_fwhm() {
        for shape in [PsfShape::Gaussian, PsfShape::Moffat { beta: 3.5 }] {
            let fwhm = 4.0;
            let r = shape.radius(fwhm);
            let k = shape.kernel(fwhm, r);
            assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let side = 2 * r + 1;
            // Unintegrated profile at r = FWHM/2 is half the peak.
            let half = shape.profile(fwhm, (fwhm / 2.0).powi(2)) / shape.profile(fwhm, 0.0);
            assert!((half - 0.5).abs() < 1e-12);
            assert!(k[r * side + r] > k[r * side + r + 1]);
        }
    }

    #[test]
    fn fft_convolution_matches_direct() {
        let m = fft_size(30);
        assert_eq!(m, 30);
        let mut canvas = vec![0.0; m * m];
        canvas[10 * m + 12] = 5.0;
        canvas[15 * m + 15] = 1.0;
        let shape = PsfShape::Moffat { beta: 3.0 };
        let r = 4;
        let k = shape.kernel(2.0, r);
        let direct = {
            let mut out = vec![0.0; m * m];
            for i in r..m - r {
                for j in r..m - r {
                    let mut v = 0.0;
                    for a in 0..=2 * r {
                        for c in 0..=2 * r {
                            v += canvas[(i + a - r) * m + (j + c - r)]
                                * k[(2 * r - a) * (2 * r + 1) + (2 * r - c)];
                        }
                    }
                    out[i * m + j] = v;
                }
            }
            out
        };
        let mut conv = Convolver::new(m);
        conv.set_kernel(&k, r);
        let total: f64 = canvas.iter().sum();
        conv.convolve(&mut canvas);
        assert!((canvas.iter().sum::<f64>() - total).abs() < 1e-5);
        for i in r..m - r {
            for j in r..m - r {
                assert!((canvas[i * m + j] - direct[i * m + j]).abs() < 1e-5);
            }
        }
    }
}
