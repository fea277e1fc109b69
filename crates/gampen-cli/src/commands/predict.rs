//! `gampen predict`: Monte-Carlo-dropout posteriors for every galaxy of a catalog, streamed
//! batch by batch into a CSV file by [`gampen::Predictor`].

use std::path::PathBuf;

use gampen::checkpoint::{read_calibration, PreprocessingSource};
use gampen::posterior::{Columns, IntervalMethod};
use gampen::{PredictOptions, Predictor};
use gampen_data::{catalog_path, Shard};

use crate::device::DeviceArg;
use crate::error::Result;
use crate::paths::check_io;
use crate::progress;

/// Options of `gampen predict`.
///
/// Output: one row per galaxy, the catalog's own columns first (file_name, object_id, ...),
/// then the summaries of each parameter in original units. `--columns default`:
/// `preds_{name}_{mean,median,mode,std,lo68,hi68,lo95,hi95,lo99,hi99,skew,kurtosis}` (lo/hi:
/// the 68.27, 95.45, 99.73 % intervals; kurtosis is excess). `--columns gampen`: GaMPEN's
/// catalogue layout, `preds_{name}_{mean,median,std,skew,kurtosis,mode,sig_ci,twosig_ci,threesig_ci}`
/// with `(low, high)` pairs in the `*_ci` columns, GaMPEN's names (bt, R_e_asec,
/// total_flux_adus) for its published targets and a derived total_mag. Use
/// `--intervals gampen` as well to get GaMPEN's KDE mode and mode-centred intervals.
/// Cutouts are read one batch at a time and rows are written as they are computed, so memory
/// does not grow with the catalog.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// A checkpoint directory, or a training run directory (its best checkpoint is used).
    #[arg(long)]
    pub model: PathBuf,
    /// Data directory with cutouts/ and info.csv.
    #[arg(long)]
    pub data: PathBuf,
    /// Predict the galaxies of splits/<split>.csv (e.g. balanced-dev-test) instead of info.csv.
    #[arg(long)]
    pub split: Option<String>,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// Monte-Carlo dropout passes per galaxy (GaMPEN's catalogues: 500).
    #[arg(long, default_value_t = 100, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub passes: usize,
    /// Draws from each pass's predicted normal.
    #[arg(long, default_value_t = 10, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub samples_per_pass: usize,
    /// Galaxies per batch (memory ~ batch size; at most 256 galaxy-passes go through the
    /// network at once).
    #[arg(long, default_value_t = 64, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Seed of the dropout masks and normal draws (each batch derives its own from it).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
    /// Also write every posterior sample (original units): `.csv` gives rows
    /// file_name,draw,<params...>; anything else JSON lines {"file_name": .., "<param>": [..]}.
    #[arg(long)]
    pub samples_out: Option<PathBuf>,
    /// Process only shard K of N: data rows i (0-based) with i % N == K - 1. K is 1-based
    /// (1/4, 2/4, 3/4, 4/4); join the outputs with `gampen merge`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Rescale the intervals with a calibration fitted by `gampen evaluate --fit-calibration`.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Interval definition: `equal-tailed` (quantiles; binned-KDE mode) or `gampen` (GaMPEN's
    /// aggregator: KDE mode on a 1000-point grid, windows grown around it until their KDE
    /// mass is nearest 68.27/95.45/99.73 %, std over N; costs about 1000 x draws per
    /// parameter and galaxy).
    #[arg(long, default_value_t = IntervalMethod::EqualTailed)]
    pub intervals: IntervalMethod,
    /// Column layout: `default` (lo68/hi68/... numeric columns) or `gampen` (GaMPEN's
    /// catalogue columns: *_sig_ci, *_twosig_ci, *_threesig_ci pairs, bt/R_e_asec/
    /// total_flux_adus names and total_mag for its published targets).
    #[arg(long, value_enum, default_value_t = Columns::Default)]
    pub columns: Columns,
    /// Monte-Carlo dropout rate to sample with, in [0, 1), instead of the checkpoint's
    /// (config.json `dropout`). This changes the posterior: the epistemic spread grows with
    /// the rate, and a rate far from the training rate also shifts the network's outputs.
    #[arg(long, value_parser = crate::flags::probability, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `gampen predict`.
pub fn run(args: Args) -> Result<()> {
    let n = execute(&args)?;
    eprintln!("wrote {n} galaxies to {}", args.out.display());
    Ok(())
}

/// Predicts as `args` say and returns the number of galaxies written.
pub fn execute(args: &Args) -> Result<usize> {
    catalog_path(&args.data, args.split.as_deref())?;
    check_outputs(args)?;
    let device = args.device.device()?;
    let predictor = Predictor::open(&args.model, &device)?;
    let calibration = match &args.calibration {
        Some(p) => Some(read_calibration(p, predictor.parameters())?),
        None => predictor.calibration().cloned(),
    };
    let options = PredictOptions {
        passes: args.passes,
        samples_per_pass: args.samples_per_pass,
        batch_size: args.batch_size,
        seed: args.seed,
        intervals: args.intervals,
        columns: args.columns,
        dropout: args.dropout,
        shard: args.shard.unwrap_or(Shard::ALL),
        calibrate: true,
        keep_samples: false,
    };
    let predictor = predictor
        .with_calibration(calibration)?
        .with_options(options)?;
    if predictor.labels().is_none() {
        eprintln!(
            "warning: the checkpoint has no labels.json; predictions are in the network's units"
        );
    }
    let bar = match args.quiet {
        true => indicatif::ProgressBar::hidden(),
        false => progress::bar(0, "predict"),
    };
    let mut first = true;
    let written = predictor.write_csv(
        &args.data,
        args.split.as_deref(),
        &args.out,
        args.samples_out.as_deref(),
        |p| {
            if std::mem::take(&mut first) {
                // After the first batch, so that a run that fails on its inputs prints only
                // its error line.
                bar.suspend(|| report(&predictor, args));
            }
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            bar.set_message(format!("{:.1} galaxies/s", p.galaxies_per_second()));
        },
    )?;
    bar.finish_and_clear();
    Ok(written)
}

/// Refuses outputs that are, or lie inside, an input (by any spelling), and an output
/// written twice.
fn check_outputs(args: &Args) -> Result<()> {
    let mut inputs = vec![("--model", args.model.as_path()), ("--data", &args.data)];
    if let Some(c) = &args.calibration {
        inputs.push(("--calibration", c));
    }
    let mut outputs = vec![("--out", args.out.as_path())];
    if let Some(s) = &args.samples_out {
        outputs.push(("--samples-out", s));
    }
    check_io(&inputs, &outputs)
}

/// The stderr lines that say which dropout rate the posterior is sampled with, and where
/// the preprocessing and calibration come from when that is not plain.
fn report(predictor: &Predictor, args: &Args) {
    let (rate, own) = predictor.dropout();
    let from = match own {
        true => "the checkpoint's config.json",
        false => "--dropout",
    };
    eprintln!("sampling with Monte-Carlo dropout rate {rate} (from {from})");
    if !matches!(
        predictor.preprocessing_source(),
        PreprocessingSource::Checkpoint(_)
    ) {
        eprintln!("preprocessing from {}", predictor.preprocessing_source());
    }
    if args.calibration.is_none() && predictor.calibration().is_some() {
        eprintln!("calibrating intervals with the checkpoint's calibration.json");
    }
}
