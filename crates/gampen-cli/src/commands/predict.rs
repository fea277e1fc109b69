//! `gampen predict`: Monte-Carlo-dropout posteriors for every galaxy of a catalog, streamed
//! batch by batch into a CSV file by [`gampen::Predictor`].

use std::path::PathBuf;

use gampen::checkpoint::read_calibration;
use gampen::device::ComputeDevice;
use gampen::{PredictOptions, Predictor};
use gampen_data::catalog_path;
use gampen_data::paths::check_io;

use crate::error::Result;
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
    /// Predict the galaxies of splits/SPLIT.csv (e.g. balanced-dev-test) instead of info.csv.
    #[arg(long)]
    pub split: Option<String>,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub options: PredictOptions,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = ComputeDevice::Flex)]
    pub device: ComputeDevice,
    /// Also write every posterior sample (original units): `.csv` gives rows
    /// file_name,draw,<params...>; anything else JSON lines {"file_name": .., "<param>": [..]}.
    #[arg(long)]
    pub samples_out: Option<PathBuf>,
    /// Rescale the intervals with this calibration (fitted by `gampen evaluate
    /// --fit-calibration`) instead of the checkpoint's calibration.json, if it has one.
    #[arg(long, conflicts_with = "no_calibration")]
    pub calibration: Option<PathBuf>,
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
    let predictor = predictor.with_options(args.options.clone())?;
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
            bar.suspend(|| {
                let given = args.calibration.as_deref();
                predictor
                    .describe(given)
                    .iter()
                    .for_each(|l| eprintln!("{l}"))
            });
        }
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(format!("{:.1} galaxies/s", p.galaxies_per_second()));
    })?;
    bar.finish_and_clear();
    Ok(written)
}
