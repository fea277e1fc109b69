//! `gampen predict`: Monte-Carlo-dropout posteriors for every galaxy of a catalog, streamed
//! batch by batch into a CSV file by [`gampen::Predictor`].

use std::path::PathBuf;

use gampen::checkpoint::{self, read_calibration, PreprocessingSource};
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
/// then the summaries of each parameter in original units, laid out as `--columns` says.
/// Rows are written batch by batch, so memory does not grow with the catalog.
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
    /// Rescale the intervals with this calibration (fitted by `gampen evaluate
    /// --fit-calibration`) instead of the checkpoint's calibration.json, if it has one.
    #[arg(long, conflicts_with = "no_calibration")]
    pub calibration: Option<PathBuf>,
    /// Write the raw intervals: apply no calibration, not even the checkpoint's
    /// calibration.json (what `gampen evaluate --calibration/--model` expects).
    #[arg(long)]
    pub no_calibration: bool,
    /// Interval definition: `equal-tailed` (quantiles; binned-KDE mode) or `gampen` (GaMPEN's
    /// aggregator: KDE mode on a 1000-point grid, windows grown around it until their KDE
    /// mass is nearest 68.27/95.45/99.73 %, std over N; costs about 1000 x draws per
    /// parameter and galaxy).
    #[arg(long, default_value_t = IntervalMethod::EqualTailed)]
    pub intervals: IntervalMethod,
    /// Column layout: `default` (`preds_{name}_{mean,median,mode,std,lo68,hi68,lo95,hi95,
    /// lo99,hi99,skew,kurtosis}`; lo/hi: the 68.27, 95.45, 99.73 % intervals; excess
    /// kurtosis) or `gampen` (GaMPEN's catalogue: `preds_{name}_{mean,median,std,skew,
    /// kurtosis,mode,sig_ci,twosig_ci,threesig_ci}` with `(low, high)` pairs, its names
    /// bt/R_e_asec/total_flux_adus and a derived total_mag; add `--intervals gampen` for its
    /// KDE mode and mode-centred intervals).
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
    let (calibration, samples) = (args.calibration.as_deref(), args.samples_out.as_deref());
    let mut inputs = vec![("--model", args.model.as_path()), ("--data", &args.data)];
    inputs.extend(calibration.map(|c| ("--calibration", c)));
    let mut outputs = vec![("--out", args.out.as_path())];
    outputs.extend(samples.map(|s| ("--samples-out", s)));
    check_io(&inputs, &outputs)?;
    let mut predictor = Predictor::open(&args.model, &args.device.device()?)?;
    if let Some(path) = calibration {
        let c = read_calibration(path, predictor.parameters())?;
        predictor = predictor.with_calibration(Some(c))?;
    }
    let predictor = predictor.with_options(PredictOptions {
        passes: args.passes,
        samples_per_pass: args.samples_per_pass,
        batch_size: args.batch_size,
        seed: args.seed,
        intervals: args.intervals,
        columns: args.columns,
        dropout: args.dropout,
        shard: args.shard.unwrap_or(Shard::ALL),
        calibrate: !args.no_calibration,
        ..Default::default()
    })?;
    if predictor.labels().is_none() {
        eprintln!(
            "warning: the checkpoint has no labels.json; predictions are in the network's units"
        );
    }
    let bar = match args.quiet {
        true => indicatif::ProgressBar::hidden(),
        false => progress::bar(0, "predict"),
    };
    let split = args.split.as_deref();
    let mut first = true;
    let written = predictor.write_csv(&args.data, split, &args.out, samples, |p| {
        // After the first batch, so that a run that fails on its inputs prints only its
        // error line.
        if std::mem::take(&mut first) {
            bar.suspend(|| report(&predictor, args));
        }
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(format!("{:.1} galaxies/s", p.galaxies_per_second()));
    })?;
    bar.finish_and_clear();
    Ok(written)
}

/// The stderr lines that say which dropout rate the posterior is sampled with, and where
/// preprocessing and calibration come from when not from the checkpoint's own files.
fn report(predictor: &Predictor, args: &Args) {
    let (rate, from) = match args.dropout {
        Some(p) => (p, "--dropout"),
        None => (predictor.dropout().0, "the checkpoint's config.json"),
    };
    eprintln!("sampling with Monte-Carlo dropout rate {rate} (from {from})");
    let source = predictor.preprocessing_source();
    if !matches!(source, PreprocessingSource::Checkpoint(_)) {
        eprintln!("preprocessing from {source}");
    }
    eprintln!("{}", calibration_line(predictor, args));
}

/// The one line that says whether the intervals are calibrated, and with what.
fn calibration_line(predictor: &Predictor, args: &Args) -> String {
    let checkpoint_file = predictor.dir().join(checkpoint::files::CALIBRATION);
    match (
        args.no_calibration,
        &args.calibration,
        predictor.calibration(),
    ) {
        (true, _, Some(_)) => format!(
            "raw intervals: --no-calibration leaves {} unapplied",
            checkpoint_file.display()
        ),
        (true, _, None) | (false, _, None) => {
            "raw intervals: no calibration (the checkpoint has no calibration.json)".into()
        }
        (false, Some(path), Some(c)) => {
            format!(
                "calibrated intervals: factors {:?} from --calibration {}",
                c.scales,
                path.display()
            )
        }
        (false, None, Some(c)) => format!(
            "calibrated intervals: factors {:?} from {}",
            c.scales,
            checkpoint_file.display()
        ),
    }
}
