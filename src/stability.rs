//! Rotation stability: a galaxy's parameters do not depend on its orientation on the sky,
//! so neither should its posterior.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::GampenError;
use crate::model::Gampen;
use crate::posterior::{LabelInverse, PosteriorOptions};

/// Spread of predictions over rotations of the same galaxies.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RotationReport {
    /// Rotation angles in degrees, counter-clockwise.
    pub angles: Vec<f64>,
    /// Per parameter: mean over galaxies of the standard deviation of the posterior median
    /// across the rotations (original units).
    pub median_spread: Vec<f64>,
    /// Per parameter: `median_spread` divided by the mean posterior std (how large the
    /// orientation dependence is compared with the stated uncertainty).
    pub relative_spread: Vec<f64>,
    /// Posterior medians `[angle][galaxy][param]`.
    pub medians: Vec<Vec<Vec<f64>>>,
}

/// Rotates images counter-clockwise by `degrees` about their centre.
///
/// Multiples of 90 degrees are exact pixel permutations; other angles resample bilinearly
/// (corners that come from outside the cutout are zero).
///
/// # Shapes
/// - images: `[B, C, H, W]` (square for non-multiples of 90) -> same shape
pub fn rotate(images: Tensor<4>, degrees: f64) -> Tensor<4> {
    let quarter = degrees / 90.0;
    if (quarter - quarter.round()).abs() < 1e-9 {
        // A counter-clockwise quarter turn: transpose, then flip vertically.
        let mut x = images;
        for _ in 0..(quarter.round() as i64).rem_euclid(4) {
            x = x.swap_dims(2, 3).flip([2]);
        }
        return x;
    }
    let [b, _, h, w] = images.dims();
    let device = images.device();
    let (s, c) = degrees.to_radians().sin_cos();
    // affine_grid maps output coordinates to input ones; y points down in image rows, so a
    // counter-clockwise rotation on the sky uses the inverse (clockwise) matrix here.
    let theta =
        Tensor::<1>::from_floats([c as f32, -s as f32, 0.0, s as f32, c as f32, 0.0], &device)
            .reshape([1, 2, 3])
            .repeat_dim(0, b);
    gampen_stn::affine_sample(images, theta, [h, w])
}

/// Posteriors of `images` rotated by each of `angles` (degrees), and their spread.
pub fn rotation_stability(
    model: &Gampen,
    images: Tensor<4>,
    angles: &[f64],
    options: &PosteriorOptions,
    labels: &dyn LabelInverse,
) -> Result<RotationReport, GampenError> {
    let n = model.config().num_params();
    let b = images.dims()[0];
    let mut medians = Vec::new();
    let mut std_sum = vec![0.0; n];
    for &angle in angles {
        let post = model.predict_posterior(rotate(images.clone(), angle), options, labels)?;
        for g in &post {
            for (sum, m) in std_sum.iter_mut().zip(&g.marginals) {
                *sum += m.std;
            }
        }
        medians.push(
            post.iter()
                .map(|g| g.marginals.iter().map(|m| m.median).collect())
                .collect::<Vec<Vec<f64>>>(),
        );
    }
    let mut spread = vec![0.0; n];
    let k = angles.len() as f64;
    for g in 0..b {
        for p in 0..n {
            let vals: Vec<f64> = medians.iter().map(|a| a[g][p]).collect();
            let mean = vals.iter().sum::<f64>() / k;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0).max(1.0);
            spread[p] += var.sqrt() / b as f64;
        }
    }
    let mean_std: Vec<f64> = std_sum.iter().map(|s| s / (b as f64 * k)).collect();
    Ok(RotationReport {
        angles: angles.to_vec(),
        relative_spread: spread
            .iter()
            .zip(&mean_std)
            .map(|(s, m)| if *m > 0.0 { s / m } else { f64::NAN })
            .collect(),
        median_spread: spread,
        medians,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    gampen_testing::backend_tests! {
        fn quarter_turns_are_exact_permutations(device) {
            // 2x3 image [[0,1,2],[3,4,5]] turned 90 degrees counter-clockwise is
            // [[2,5],[1,4],[0,3]] (numpy.rot90).
            let x = Tensor::<4>::from_data(
                TensorData::new(vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], [1, 1, 2, 3]),
                device,
            );
            let r = rotate(x.clone(), 90.0);
            assert_eq!(r.dims(), [1, 1, 3, 2]);
            assert_eq!(gampen_testing::to_vec(r), vec![2.0, 5.0, 1.0, 4.0, 0.0, 3.0]);
            let back = rotate(rotate(x.clone(), 180.0), -180.0);
            assert_eq!(gampen_testing::to_vec(back), gampen_testing::to_vec(x));
        }

        fn small_angle_matches_quarter_turn_limit(device) {
            // A bilinear rotation by 90 degrees must agree with the exact permutation.
            let data: Vec<f32> = (0..25).map(|v| v as f32).collect();
            let x = Tensor::<4>::from_data(TensorData::new(data, [1, 1, 5, 5]), device);
            let exact = gampen_testing::to_vec(rotate(x.clone(), 90.0));
            let theta_path = gampen_testing::to_vec(rotate(x, 90.000_001));
            gampen_testing::assert_close(&theta_path, &exact, 1e-3, 0.0, "rot90");
        }
    }
}
