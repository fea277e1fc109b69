//! Issue 15's scaled-down recipe: a data directory of a few hundred simulated galaxies, a
//! small model trained for a few epochs, then the calibration step on devel; the loss falls,
//! coverage is measured before and after, the factors land in the best checkpoint, and
//! `Predictor` applies them by default.

mod common;

use burn::tensor::Device;
use gampen::checkpoint::{self, files};
use gampen::posterior::Orientations;
use gampen::posterior::LEVELS;
use gampen::train::{calibrate_checkpoint, CalibrateOptions, Experiment, TrainConfig};
use gampen::{PredictOptions, Predictor};
use gampen_data::{SimulatorConfig, Transform};

#[test]
fn the_calibration_step_fits_on_devel_and_predict_applies_it() {
    let device = Device::flex();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let sim = SimulatorConfig {
        image_size: 40,
        ..SimulatorConfig::default()
    };
    gampen_data::prepare_simulated_dataset(&data, 200, &sim, 4).unwrap();
    let mut model = common::tiny_config();
    model.parameters = vec!["bt".into(), "r_e".into()];
    let options = CalibrateOptions::new().with_passes(4).with_seed(9);
    let train = TrainConfig::new()
        .with_epochs(4)
        .with_batch_size(16)
        .with_seed(2)
        .with_progress(false);
    let experiment = Experiment::new(&data, model)
        .with_transforms(Some(&[Transform::logit(), Transform::Ln]))
        .unwrap()
        .with_train(train)
        .with_calibrate(Some(options.clone()));
    let run = root.path().join("run");
    let outcome = experiment.run(&run, &device, &mut ()).unwrap();

    let history = &outcome.report.history;
    let (first, last) = (history[0].train_loss, history[history.len() - 1].train_loss);
    assert!(
        last < first,
        "the training loss did not fall: {first} -> {last}"
    );

    let c = outcome.calibration.expect("the calibration step ran");
    assert_eq!(c.checkpoint, outcome.report.best_checkpoint);
    assert_eq!(c.galaxies, outcome.sizes[1]);
    assert_eq!(c.before.nominal, LEVELS);
    for cov in c.before.per_parameter.iter().chain(&c.after.per_parameter) {
        assert!(cov.iter().all(|v| (0.0..=1.0).contains(v)), "{c:?}");
    }
    // In-sample, the fit can only bring devel coverage closer to nominal (at each level it
    // picks the achievable coverage nearest nominal).
    assert!(c.after.mean_abs_deviation() <= c.before.mean_abs_deviation() + 1e-12);

    // calibration.json is in the checkpoint best.json names, and holds what was fitted (to
    // the last bit or so: serde_json's default float parsing may round the final digit).
    let best = checkpoint::resolve(&run).unwrap();
    assert_eq!(best, c.checkpoint);
    let path = best.join(files::CALIBRATION);
    let saved = checkpoint::read_calibration(&path, &c.scale.parameters).unwrap();
    for (a, b) in saved.scales.iter().zip(&c.scale.scales) {
        assert!((a - b).abs() <= 1e-12, "{saved:?} vs {:?}", c.scale);
    }

    // Predict applies it by default: the std is the raw std times the factor.
    let predict = |calibrate: bool| {
        let o = PredictOptions::new()
            .with_passes(3)
            .with_calibrate(calibrate);
        let p = Predictor::open(&run, &device)
            .unwrap()
            .with_options(o)
            .unwrap();
        let batch = p.catalog_batches(&data, Some("balanced-dev-test")).unwrap();
        batch.map(|b| b.unwrap().posteriors).next().unwrap()
    };
    let (raw, calibrated) = (predict(false), predict(true));
    for (r, k) in raw.iter().zip(&calibrated) {
        for (p, factor) in c.scale.scales.iter().enumerate() {
            let (a, b) = (r.marginals[p].std * factor, k.marginals[p].std);
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1e-12), "{a} vs {b}");
            assert_eq!(r.marginals[p].median, k.marginals[p].median);
        }
    }

    // Factors fitted on one orientation are not applied to posteriors over eight.
    let turned = PredictOptions::new()
        .with_passes(8)
        .with_orientations(Orientations::Dihedral);
    let p = Predictor::open(&run, &device)
        .unwrap()
        .with_options(turned)
        .unwrap();
    let mut batches = p.catalog_batches(&data, Some("balanced-dev-test")).unwrap();
    let Some(Err(err)) = batches.next() else {
        panic!("a calibration fitted on one orientation was applied to eight");
    };
    let err = err.to_string();
    assert!(
        err.contains("--orientations dihedral") && err.contains("--no-calibration"),
        "{err}"
    );

    // Running the step again (a resumed, finished run) refits the same factors.
    let split = "balanced-dev-devel";
    let again = calibrate_checkpoint(&run, &data, split, &options, &device).unwrap();
    assert_eq!(again.scale, c.scale);
    assert_eq!(again.before.per_parameter, c.before.per_parameter);
}
