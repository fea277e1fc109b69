//! Rotation stability, dropout-rate search and post-hoc calibration on a real (tiny) model.

use burn::tensor::{Device, Tensor, TensorData};
use gampen::calibration::{coverage, CalibrationScale};
use gampen::posterior::Identity;
use gampen::stability::rotation_stability;
use gampen::tune::search_dropout;
use gampen::PosteriorOptions;

mod common;

fn images(device: &Device) -> Tensor<4> {
    let data: Vec<f32> = (0..6 * 40 * 40)
        .map(|i| ((i * 7919) % 101) as f32 / 101.0)
        .collect();
    Tensor::from_data(TensorData::new(data, [6, 1, 40, 40]), device)
}

#[test]
fn rotation_report_and_dropout_search_run_on_a_model() {
    let device = Device::flex();
    device.seed(3);
    let model = common::tiny_config()
        .with_dropout(0.2)
        .init(&device)
        .unwrap();
    let options = PosteriorOptions::new()
        .with_passes(8)
        .with_samples_per_pass(4);

    let report = rotation_stability(
        &model,
        images(&device),
        &[0.0, 90.0, 180.0, 33.0],
        &options,
        &Identity,
    )
    .unwrap();
    assert_eq!(report.medians.len(), 4);
    assert_eq!(report.median_spread.len(), 2);
    assert!(report
        .median_spread
        .iter()
        .all(|s| s.is_finite() && *s >= 0.0));
    assert!(report.relative_spread.iter().all(|s| s.is_finite()));

    let truths: Vec<Vec<f64>> = (0..6).map(|g| vec![g as f64 * 0.01, -0.02]).collect();
    let trials = search_dropout(
        &model,
        images(&device),
        &truths,
        &[0.0, 0.1, 0.3],
        &options,
        &Identity,
    )
    .unwrap();
    assert_eq!(trials.len(), 3);
    assert!(trials.windows(2).all(|w| w[0].deviation <= w[1].deviation));
    assert!(search_dropout(
        &model,
        images(&device),
        &truths,
        &[1.5],
        &options,
        &Identity
    )
    .is_err());

    // Post-hoc scaling fitted on these posteriors never makes their coverage worse.
    let post = model
        .predict_posterior(images(&device), &options, &Identity)
        .unwrap();
    let names = model.config().parameters.clone();
    let before = coverage(&names, &post, &truths).mean_abs_deviation();
    let scale = CalibrationScale::fit(&names, &post, &truths);
    let mut scaled = post.clone();
    scaled.iter_mut().for_each(|p| scale.apply(p));
    let after = coverage(&names, &scaled, &truths).mean_abs_deviation();
    assert!(after <= before + 1e-12, "{before} -> {after}");
}
