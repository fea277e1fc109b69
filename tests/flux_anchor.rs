//! The flux anchor end to end: an experiment attaches it to the model with the fitted label
//! scaling and softening (and the flux label scaled by the spread of what the sum gets
//! wrong), the checkpoint carries it, and every prediction path adds the
//! cutout's pixel sum, read here independently from the FITS files.

use burn::tensor::Device;
use gampen::train::{Experiment, TrainConfig};
use gampen::{checkpoint, PosteriorOptions, Preset};
use gampen_data::{read_fits, Preprocessing, SimulatorConfig, Softening};

#[test]
fn an_anchored_model_adds_the_pixel_sum_on_every_path() {
    let device = Device::flex();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    gampen_data::prepare_simulated_dataset(&data, 80, &SimulatorConfig::default(), 4).unwrap();
    let names = vec!["bt".to_string(), "total_flux".into()];
    let experiment = Experiment::new(&data, Preset::Small.config(names.clone()))
        .with_softening(Softening::SkyNoise)
        .with_flux_anchor(Some("total_flux".into()))
        .with_train(TrainConfig::new().with_epochs(1).with_progress(false));
    let run = root.path().join("run");
    let outcome = experiment.run(&run, &device, &mut ()).unwrap();

    let (mut model, labels) = checkpoint::load(&run, &device).unwrap();
    let labels = labels.unwrap();
    let anchor = model
        .config()
        .flux_anchor
        .clone()
        .expect("the anchor is saved");
    let prep: Preprocessing = serde_json::from_str(
        &std::fs::read_to_string(outcome.report.best_checkpoint.join("preprocessing.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(anchor.parameter, 1);
    assert_eq!(anchor.arsinh_softening, Some(prep.arsinh_softening));
    assert!((anchor.floor - 64.0 * prep.arsinh_softening).abs() < 1e-9);
    assert_eq!(anchor.scale, labels.columns[1].scaling.scale);
    assert_eq!(anchor.offset, labels.columns[1].scaling.offset);
    // Shift and scale: mean and spread of ln(flux) - ln_soft(pixel sum) over the training
    // split, from the FITS files.
    let ln_soft = |sum: f64| anchor.floor.ln() + (sum / (2.0 * anchor.floor)).asinh();
    let train = gampen_data::CsvTable::read(data.join("splits/balanced-dev-train.csv")).unwrap();
    let flux = train.numeric_column("total_flux").unwrap();
    let residuals: Vec<f64> = train
        .key_column("file_name")
        .unwrap()
        .iter()
        .zip(&flux)
        .map(|(f, flux)| {
            flux.ln()
                - ln_soft(centre_sum(
                    &read_fits(data.join("cutouts").join(f)).unwrap(),
                ))
        })
        .collect();
    let n = residuals.len() as f64;
    let mean = residuals.iter().sum::<f64>() / n;
    let std = (residuals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        (anchor.shift - mean).abs() < 1e-4,
        "{} vs {mean}",
        anchor.shift
    );
    assert!(
        (anchor.scale / std - 1.0).abs() < 1e-3,
        "{} vs {std}",
        anchor.scale
    );

    // Posterior samples with and without the anchor, same seed: every flux draw moves by the
    // anchor, and nothing else moves.
    let table = gampen_data::CsvTable::read(data.join("info.csv")).unwrap();
    let files: Vec<String> = table.key_column("file_name").unwrap()[..6].to_vec();
    let cutouts: Vec<_> = files
        .iter()
        .map(|f| read_fits(data.join("cutouts").join(f)).unwrap())
        .collect();
    let prepared: Vec<_> = cutouts
        .iter()
        .zip(&files)
        .map(|(img, f)| prep.prepare(img.clone(), f.as_ref()).unwrap().0)
        .collect();
    let images = prep.stack(&prepared, &device);
    let options = PosteriorOptions::new().with_passes(3).with_seed(Some(5));
    let anchored = model.posterior_samples(images.clone(), &options).unwrap();
    model.set_flux_anchor(None).unwrap();
    let plain = model.posterior_samples(images, &options).unwrap();
    for (g, img) in cutouts.iter().enumerate() {
        let want = (ln_soft(centre_sum(img)) + anchor.shift - anchor.offset) / anchor.scale;
        for (a, p) in anchored[g][1].iter().zip(&plain[g][1]) {
            assert!(
                (a - p - want).abs() < 2e-3,
                "galaxy {g}: {a} - {p} vs {want}"
            );
        }
        assert_eq!(anchored[g][0], plain[g][0], "B/T moved");
    }
}

/// The pixel sum of the centre 64x64 crop of a raw cutout, in f64.
fn centre_sum(img: &gampen_data::Image) -> f64 {
    let (h, w) = (img.height, img.width);
    let (y0, x0) = ((h - 64) / 2, (w - 64) / 2);
    (y0..y0 + 64)
        .flat_map(|y| (x0..x0 + 64).map(move |x| (y, x)))
        .map(|(y, x)| img.data[y * w + x] as f64)
        .sum()
}

#[test]
fn an_anchor_needs_a_logarithmic_label_it_predicts() {
    let root = tempfile::tempdir().unwrap();
    let names = vec!["bt".to_string(), "total_flux".into()];
    let err = |column: &str| {
        Experiment::new(root.path(), Preset::Small.config(names.clone()))
            .with_flux_anchor(Some(column.into()))
            .check()
            .unwrap_err()
            .to_string()
    };
    let bt = err("bt");
    assert!(
        bt.contains("\"bt\"") && bt.contains("not ln or log10"),
        "{bt}"
    );
    let missing = err("r_e");
    assert!(missing.contains("not among the labels"), "{missing}");
}
