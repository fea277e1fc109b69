//! `gampen train`: fit a model on a split of a data directory, a library
//! [`Experiment`] built from the command line.

mod model;
mod options;

use std::path::{Path, PathBuf};
use std::time::Instant;

use gampen::calibration::CoverageReport;
use gampen::checkpoint;
use gampen::train::{
    CalibrateOptions, Experiment, ExperimentOutcome, TrainObserver, TrainReport, TRAIN_CONFIG_JSON,
};
use gampen_data::prepare::DATASET_JSON;

pub use model::{ModelArgs, StartArgs};
pub use options::TrainArgs;

use crate::device::DeviceArg;
use crate::error::{CliError, Result};
use crate::labels::LabelArgs;
use crate::paths::{check_io, is_occupied, write_via_temp};
use crate::progress::TrainProgress;

/// Options of `gampen train`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Data directory (cutouts/, info.csv, splits/).
    #[arg(long)]
    pub data: PathBuf,
    /// Split prefix: reads splits/<split>-train.csv and splits/<split>-devel.csv.
    #[arg(long, default_value = "balanced-dev")]
    pub split: String,
    /// What to predict.
    #[command(flatten)]
    pub labels: LabelArgs,
    /// Run directory (checkpoints/, best.json, last.json, metrics.jsonl, dataset.json,
    /// loss.png). An existing run is resumed unless --no-resume.
    #[arg(long)]
    pub out: PathBuf,
    /// The architecture.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Where the weights start.
    #[command(flatten)]
    pub start: StartArgs,
    /// How to train.
    #[command(flatten)]
    pub train: TrainArgs,
    /// After training, fit per-parameter interval factors on the devel split's Monte-Carlo
    /// dropout posteriors (the best model, the checkpoint's dropout rate) and save them as
    /// the best checkpoint's calibration.json, which `gampen predict` then applies by
    /// default. Refitted, to the same factors, when a finished run is resumed.
    #[arg(long)]
    pub calibrate: bool,
    /// Monte-Carlo dropout passes per devel galaxy for --calibrate (10 draws each).
    #[arg(long, default_value_t = CalibrateOptions::new().passes, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub calibration_passes: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::default())]
    pub device: DeviceArg,
    /// No progress bars or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `gampen train` and prints a summary.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let outcome = execute(&args)?;
    print_summary(&args, &outcome, started.elapsed().as_secs_f64());
    Ok(())
}

/// Files and directories only a training run holds: an existing --out with none of them is
/// not a run and is refused rather than written into.
const RUN_MARKERS: [&str; 5] = [
    TRAIN_CONFIG_JSON,
    DATASET_JSON,
    checkpoint::files::LAST,
    checkpoint::files::BEST,
    "checkpoints",
];

/// Refuses an --out that is, holds or lies inside an input, and an existing non-empty --out
/// that is not a training run (an existing run is resumed, its normal use).
fn check_run_dir(args: &Args) -> Result<()> {
    let mut inputs = vec![("--data", args.data.as_path())];
    if let Some(f) = &args.start.from {
        inputs.push(("--from", f));
    }
    if let Some(b) = &args.start.init_backbone {
        inputs.push(("--init-backbone", b));
    }
    check_io(&inputs, &[("--out", &args.out)])?;
    if is_occupied(&args.out) && !RUN_MARKERS.iter().any(|m| args.out.join(m).exists()) {
        return Err(CliError::usage(format!(
            "--out {} exists and is not a training run (no train_config.json, dataset.json or \
             checkpoints/): choose a new or empty --out",
            args.out.display()
        )));
    }
    Ok(())
}

/// The library's description of the run the command line asks for.
pub fn experiment(args: &Args) -> Result<Experiment> {
    let model = args.model.config(args.labels.names());
    Ok(Experiment::new(&args.data, model)
        .with_split(&args.split)
        .with_transforms(args.labels.transforms.as_deref())?
        .with_scaling(args.labels.scaling)
        .with_train(args.train.config(!args.quiet))
        .with_calibrate(args.calibrate.then(|| {
            CalibrateOptions::new()
                .with_passes(args.calibration_passes)
                .with_seed(args.train.seed)
        })))
}

/// Trains as `args` say; writes the run directory, `dataset.json` and `loss.png`.
pub fn execute(args: &Args) -> Result<ExperimentOutcome> {
    let experiment = experiment(args)?;
    experiment.check()?;
    check_run_dir(args)?;
    let device = args.device.device()?;
    device.seed(args.train.seed);
    let resuming = !args.train.no_resume && args.out.join(checkpoint::files::LAST).is_file();
    let (model, labels) = model::build(
        &args.model,
        &args.start,
        &experiment.model,
        resuming.then_some(args.out.as_path()),
        args.quiet,
        &device,
    )?;
    let mut progress = TrainProgress::new(args.device);
    let observer: &mut dyn TrainObserver = if args.quiet { &mut () } else { &mut progress };
    let outcome = experiment.run_model(model, labels, &args.out, &device, observer)?;
    write_loss_curve(&args.out, &outcome.report)?;
    Ok(outcome)
}

/// `loss.png` in `run_dir`: training and devel loss per epoch.
pub fn write_loss_curve(run_dir: &Path, report: &TrainReport) -> Result<()> {
    let train: Vec<f64> = report.history.iter().map(|m| m.train_loss).collect();
    let devel: Vec<f64> = report.history.iter().map(|m| m.devel_loss).collect();
    if train.is_empty() {
        return Ok(());
    }
    write_via_temp(&run_dir.join("loss.png"), |tmp| {
        Ok(gampen_plot::loss_curve(tmp, &train, &devel)?)
    })
}

/// What the "(all inside)" row is, so that no one reads it against the marginal nominal.
pub const ALL_INSIDE_NOTE: &str = "(all inside: every parameter inside its interval at once; \
its nominal depends on the correlations, between 68.27^n and 68.27 % at 1 sigma for n \
parameters, so it is not the marginal nominal)";

/// Prints the summary of a run that took `seconds` on stdout.
pub fn print_summary(args: &Args, o: &ExperimentOutcome, seconds: f64) {
    let r = &o.report;
    let early = if r.stopped_early {
        " (stopped early)"
    } else {
        ""
    };
    println!(
        "trained {} epochs{early} in {seconds:.1} s on {} (train {}, devel {})",
        r.epochs, args.device, o.sizes[0], o.sizes[1]
    );
    println!(
        "best epoch {}: devel loss {:.4}",
        r.best_epoch, r.best_devel_loss
    );
    if let Some(best) = r.history.get(r.best_epoch.saturating_sub(1)) {
        for (p, name) in o.model.config().parameters.iter().enumerate() {
            println!(
                "  {name:<12} devel MAE {:.4}  RMSE {:.4}",
                best.devel_mae.get(p).copied().unwrap_or(f64::NAN),
                best.devel_mse.get(p).copied().unwrap_or(f64::NAN).sqrt()
            );
        }
    }
    println!("best checkpoint: {}", r.best_checkpoint.display());
    if let Some(c) = &o.calibration {
        println!(
            "calibration fitted on {} devel galaxies, saved in {}:",
            c.galaxies,
            c.checkpoint.join(checkpoint::files::CALIBRATION).display()
        );
        print_coverage_change(&c.scale.scales, &c.before, &c.after);
        println!("{ALL_INSIDE_NOTE}");
    }
    println!(
        "run directory:   {} (loss curve: loss.png)",
        args.out.display()
    );
}

/// Prints, per parameter, the factor and the coverage before -> after at the three levels,
/// with the nominal levels in the header.
pub fn print_coverage_change(scales: &[f64], before: &CoverageReport, after: &CoverageReport) {
    let n = before.nominal.map(|l| format!("{:.2}", 100.0 * l));
    println!(
        "  {:<12} {:>7}  coverage % before -> after (nominal {} / {} / {})",
        "parameter", "factor", n[0], n[1], n[2]
    );
    let rows = before.per_parameter.iter().zip(&after.per_parameter);
    for ((name, scale), (b, a)) in before.parameters.iter().zip(scales).zip(rows) {
        let cells: Vec<String> = (0..3)
            .map(|l| format!("{:5.1} -> {:5.1}", 100.0 * b[l], 100.0 * a[l]))
            .collect();
        println!("  {name:<12} {scale:>7.3}  {}", cells.join("   "));
    }
    println!(
        "  {:<12} {:>7}  {}",
        "(all inside)",
        "",
        (0..3)
            .map(|l| format!(
                "{:5.1} -> {:5.1}",
                100.0 * before.all_inside[l],
                100.0 * after.all_inside[l]
            ))
            .collect::<Vec<_>>()
            .join("   ")
    );
}
