//! `gampen train`: a library [`ExperimentFlags`] run with progress bars, a loss curve and a
//! summary.

use std::path::Path;
use std::time::Instant;

use gampen::calibration::ALL_INSIDE_NOTE;
use gampen::checkpoint::files::CALIBRATION;
use gampen::device::ComputeDevice;
use gampen::train::{ExperimentFlags, ExperimentOutcome, StartNote, TrainObserver, TrainReport};

use crate::error::Result;
use crate::plot::write_plot;
use crate::progress::TrainProgress;

/// Options of `gampen train`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub run: ExperimentFlags,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = ComputeDevice::default())]
    pub device: ComputeDevice,
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

/// Trains as `args` say; writes the run directory, `dataset.json` and `loss.png`.
pub fn execute(args: &Args) -> Result<ExperimentOutcome> {
    let flags = &args.run;
    let mut experiment = flags.experiment(!args.quiet)?;
    experiment.check()?;
    flags.check_run_dir()?;
    let device = args.device.device()?;
    device.seed(flags.train.seed);
    let start = flags.start_model(&mut experiment, &device)?;
    match &start.note {
        Some(note @ StartNote::NotApplied { .. }) => eprintln!("{note}"),
        Some(note) if !args.quiet => eprintln!("{note}"),
        _ => {}
    }
    let mut progress = TrainProgress::new(args.device);
    let observer: &mut dyn TrainObserver = if args.quiet { &mut () } else { &mut progress };
    let outcome = experiment.run_model(start.model, start.labels, &flags.out, &device, observer)?;
    write_loss_curve(&flags.out, &outcome.report)?;
    Ok(outcome)
}

/// `loss.png` in `run_dir`: training and devel loss per epoch.
pub fn write_loss_curve(run_dir: &Path, report: &TrainReport) -> Result<()> {
    let train: Vec<f64> = report.history.iter().map(|m| m.train_loss).collect();
    let devel: Vec<f64> = report.history.iter().map(|m| m.devel_loss).collect();
    if train.is_empty() {
        return Ok(());
    }
    write_plot(&run_dir.join("loss.png"), |tmp| {
        gampen_plot::loss_curve(tmp, &train, &devel)
    })
}

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
            c.checkpoint.join(CALIBRATION).display()
        );
        print!("{}", c.coverage_change());
        println!("{ALL_INSIDE_NOTE}");
    }
    println!(
        "run directory:   {} (loss curve: loss.png)",
        args.run.out.display()
    );
}
