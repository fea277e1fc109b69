//! Small dense f64 helpers for per-galaxy covariance matrices (n is a handful).

/// Sample mean and covariance (`n x n`, row-major, unbiased) of `draws[param][k]`.
pub(crate) fn mean_cov(draws: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let n = draws.len();
    let m = draws.first().map_or(0, Vec::len);
    let mean: Vec<f64> = draws
        .iter()
        .map(|d| d.iter().sum::<f64>() / m.max(1) as f64)
        .collect();
    let mut cov = vec![0.0; n * n];
    if m > 1 {
        for i in 0..n {
            for j in 0..=i {
                let s: f64 = draws[i]
                    .iter()
                    .zip(&draws[j])
                    .map(|(a, b)| (a - mean[i]) * (b - mean[j]))
                    .sum::<f64>()
                    / (m - 1) as f64;
                cov[i * n + j] = s;
                cov[j * n + i] = s;
            }
        }
    }
    (mean, cov)
}

/// Squared Mahalanobis distance `d^T C^-1 d` through a Cholesky factorisation; `None` when `C`
/// is not positive definite.
pub(crate) fn mahalanobis2(cov: &[f64], d: &[f64]) -> Option<f64> {
    let n = d.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = cov[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut z = vec![0.0; n];
    for i in 0..n {
        let mut s = d[i];
        for k in 0..i {
            s -= l[i * n + k] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    Some(z.iter().map(|v| v * v).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mahalanobis_of_known_matrix() {
        // C = [[4, 2], [2, 3]], d = [1, 1]: C^-1 = [[3, -2], [-2, 4]] / 8 -> d^T C^-1 d = 3/8.
        let m = mahalanobis2(&[4.0, 2.0, 2.0, 3.0], &[1.0, 1.0]).unwrap();
        assert!((m - 0.375).abs() < 1e-12);
        assert!(mahalanobis2(&[1.0, 2.0, 2.0, 1.0], &[1.0, 0.0]).is_none());
    }

    #[test]
    fn sample_covariance() {
        let (mean, cov) = mean_cov(&[vec![1.0, 2.0, 3.0], vec![2.0, 4.0, 6.0]]);
        assert_eq!(mean, vec![2.0, 4.0]);
        assert_eq!(cov, vec![1.0, 2.0, 2.0, 4.0]);
    }
}
