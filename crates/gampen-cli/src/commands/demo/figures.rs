//! The demo's figures of the trained model: the spatial transformer's crops of the first test
//! galaxies, and the posterior of the first one as a corner plot.

use std::path::Path;

use gampen::train::ExperimentOutcome;
use gampen::PosteriorOptions;
use gampen_data::{CsvTable, Preparation, FILE_NAME};
use gampen_plot::corner_plot;

use super::Args;
use crate::error::Result;

/// Writes `crops.png` and `corner.png` into `args.out` for the test split of `data`.
pub fn plot(args: &Args, data: &Path, outcome: &ExperimentOutcome) -> Result<()> {
    let device = args.device.device()?;
    let (model, labels) = (&outcome.model, &outcome.labels);
    let cfg = model.config().clone();
    let prep = Preparation::for_model(data, None, cfg.cutout_size, cfg.channels);
    let test_csv = gampen_data::splits::split_path(data, super::steps::TEST_SPLIT);
    let info = CsvTable::read(&test_csv)?;
    let names = info.key_column(FILE_NAME)?;
    let refs: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
    let images = prep.batch(&refs, &device)?;
    let crops = gampen::predictor::stn_crops(model, images.clone())?;
    crate::commands::crop::grid(&args.out.join("crops.png"), &crops)?;
    let s = cfg.cutout_size;
    let one = images.slice([0..1, 0..cfg.channels, 0..s, 0..s]);
    let options = PosteriorOptions::new()
        .with_passes(args.passes)
        .with_keep_samples(true)
        .with_seed(Some(args.seed));
    let post = model.predict_posterior(one, &options, labels)?;
    let truth: Vec<f64> = (cfg.parameters.iter())
        .map(|p| info.numeric_column(p).map(|c| c[0]))
        .collect::<std::result::Result<_, _>>()?;
    if let Some(samples) = post[0].samples.as_ref() {
        corner_plot(
            &args.out.join("corner.png"),
            &cfg.parameters,
            samples,
            Some(&truth),
        )?;
    }
    Ok(())
}
