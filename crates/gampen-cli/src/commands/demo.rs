//! `gampen demo`: the whole workflow on simulated galaxies in a few minutes on a CPU.

mod figures;
mod steps;
mod table;

use std::path::{Path, PathBuf};
use std::time::Instant;

use gampen::calibration::CoverageReport;
use gampen::device::ComputeDevice;
use gampen::posterior::Orientations;
use gampen::train::{
    CalibrateOptions, Experiment, MeanLoss, OptimizerFamily, OptimizerKind, TrainConfig,
};
use gampen::Preset;
use gampen_data::atomic_dir::AtomicDir;
use gampen_data::paths::create_dir;
use gampen_data::{AugmentOptions, ScalingKind, Softening, Transform};

use crate::commands::train;
use crate::error::Result;
use crate::progress::TrainProgress;

/// Options of `gampen demo`.
///
/// Simulates 64x64 galaxies (default simulator), trains the small preset on bt, r_e and
/// total_flux (logit/ln/ln, standard scaling; Adam, lr 1e-3 ramped up over the first 100
/// steps and decayed along a cosine to 5e-5, the spatial transformer at a tenth of that rate,
/// gradient clipping 1.0, batch 16, means fitted by squared error: `--mean-loss mse`; inputs
/// `asinh(x / b)` with `b` fitted to the sky noise; exact flips and quarter turns as the
/// augmentation: `--augment dihedral`; the flux predicted as a correction to the cutout's
/// pixel sum: `--flux-anchor total_flux`), fits the post-hoc calibration on the devel split
/// (`gampen train --calibrate`; passes spread over the eight flips and quarter turns, as in
/// the prediction: `--orientations dihedral`), predicts raw Monte-Carlo-dropout posteriors for the
/// held-out test split, prints errors and coverage before and after the calibration, and
/// writes plots into --out.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory (data/, run/, predictions.csv, eval/ and the plots).
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
    /// Galaxies to simulate (split balanced on B/T: about 50 % train, 25 % devel, 25 % test).
    #[arg(long, default_value_t = 4400, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub count: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 12, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub epochs: usize,
    /// Galaxies per optimiser step.
    #[arg(long, default_value_t = 16, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Epochs that fit only the means before the covariance likelihood (see `gampen train
    /// --warmup-epochs`).
    #[arg(long, default_value_t = 0, value_parser = gampen_data::flags::count_usize, allow_negative_numbers = true)]
    pub warmup_epochs: usize,
    /// Optimiser steps over which the learning rate ramps up at the start (see `gampen train
    /// --lr-warmup-steps`).
    #[arg(long, default_value_t = 100, value_parser = gampen_data::flags::count_usize, allow_negative_numbers = true)]
    pub lr_warmup_steps: usize,
    /// The spatial transformer's learning rate as a fraction of the rest's (see `gampen train
    /// --stn-lr-factor`).
    #[arg(long, default_value_t = 0.1, value_parser = gampen_data::flags::finite_non_negative_f64, allow_negative_numbers = true)]
    pub stn_lr_factor: f64,
    /// How the means are fitted (see `gampen train --mean-loss`).
    #[arg(long, value_enum, default_value_t = MeanLoss::SquaredError)]
    pub mean_loss: MeanLoss,
    /// Cosine learning-rate decay to this fraction of the initial rate (see `gampen train
    /// --final-lr-factor`).
    #[arg(long, default_value_t = 0.05, value_parser = gampen_data::flags::finite_non_negative_f64, allow_negative_numbers = true)]
    pub final_lr_factor: f64,
    /// Monte-Carlo dropout passes per devel (calibration) and test galaxy.
    #[arg(long, default_value_t = 50, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub passes: usize,
    /// Seed of the simulation and training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = ComputeDevice::default())]
    pub device: ComputeDevice,
    /// Replace an existing, non-empty --out directory (only once the new demo is complete).
    #[arg(long)]
    pub force: bool,
}

/// Runs `gampen demo`: the whole demo is assembled in a hidden directory beside --out and
/// moved into place when complete, so a failed or killed demo leaves a previous one intact.
pub fn run(args: Args) -> Result<()> {
    let dir = AtomicDir::replacing("--out", &args.out, args.force)?;
    let out = args.out.clone();
    build(Args {
        out: dir.path().to_path_buf(),
        ..args
    })?;
    dir.commit()?;
    println!(
        "plots in {}: calibration.png predicted_vs_true.png residuals.png crops.png corner.png loss.png",
        out.display()
    );
    Ok(())
}

/// The demo's training run on `data`: the small preset on GaMPEN's three labels, the arsinh
/// softening fitted to the sky noise, the flux anchored to the pixel sum, Adam with a
/// cosine decay and gradient clipping, means fitted as `args` say.
fn experiment(args: &Args, data: &Path) -> Result<Experiment> {
    let labels = ["bt", "r_e", "total_flux"].map(String::from).to_vec();
    let train = TrainConfig::new()
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_lr(OptimizerFamily::Adam.default_lr())
        .with_final_lr_factor(Some(args.final_lr_factor))
        .with_lr_warmup_steps(args.lr_warmup_steps)
        .with_stn_lr_factor(args.stn_lr_factor)
        .with_optimizer(OptimizerKind::adam())
        .with_clip_grad_norm(Some(1.0))
        .with_warmup_epochs(args.warmup_epochs)
        .with_mean_loss(args.mean_loss)
        .with_seed(args.seed)
        .with_resume(false);
    Ok(Experiment::new(data, Preset::Small.config(labels))
        .with_split(steps::SPLIT)
        .with_transforms(Some(&[Transform::logit(), Transform::Ln, Transform::Ln]))?
        .with_scaling(ScalingKind::Standard)
        .with_softening(Softening::SkyNoise)
        .with_augmentation(AugmentOptions::dihedral())
        .with_flux_anchor(Some("total_flux".into()))
        .with_train(train)
        .with_calibrate(Some(
            CalibrateOptions::new()
                .with_passes(args.passes)
                .with_orientations(Orientations::Dihedral)
                .with_seed(args.seed),
        )))
}

/// Runs the demo into `args.out`.
fn build(args: Args) -> Result<()> {
    let started = Instant::now();
    create_dir(&args.out)?;
    let data = args.out.join("data");

    eprintln!(
        "[1/5] simulating {} galaxies into {}",
        args.count,
        data.display()
    );
    steps::simulate(&args, &data)?;
    let t_sim = started.elapsed().as_secs_f64();

    eprintln!(
        "[2/5] training the small preset for {} epochs, then calibrating on devel",
        args.epochs
    );
    let run_dir = args.out.join("run");
    let device = args.device.device()?;
    let mut progress = TrainProgress::new(args.device);
    let outcome = experiment(&args, &data)?.run(&run_dir, &device, &mut progress)?;
    train::write_loss_curve(&run_dir, &outcome.report)?;
    let t_train = started.elapsed().as_secs_f64() - t_sim;

    eprintln!(
        "[3/5] predicting raw posteriors ({} passes x 10 draws) for the test split",
        args.passes
    );
    let predicted = steps::predict(&args, &run_dir, &data, &device)?;
    let t_predict = started.elapsed().as_secs_f64() - t_sim - t_train;

    eprintln!("[4/5] evaluating against the true values");
    let report = steps::evaluate(
        &args,
        &data,
        &predicted.path,
        predicted.calibration.as_ref(),
    )?;

    eprintln!("[5/5] plotting crops, a corner plot and the loss curve");
    figures::plot(&args, &data, &outcome)?;
    train::write_loss_curve(&args.out, &outcome.report)?;

    println!();
    println!(
        "GaMPEN demo: {} simulated galaxies, trained {} epochs on {} (best epoch {}), {} test galaxies, {} MC-dropout passes",
        args.count, outcome.report.epochs, outcome.sizes[0], outcome.report.best_epoch, predicted.count, args.passes
    );
    table::print(&report, outcome.calibration.as_ref());
    if let Some(after) = &report.after {
        let verdict = |c: &CoverageReport| match c.within(5.0) {
            true => "within",
            false => "not within",
        };
        println!(
            "test coverage {} 5 points of nominal at every level raw, {} after calibration",
            verdict(&report.before),
            verdict(after)
        );
    }
    println!();
    println!(
        "time: simulate {:.0} s, train {:.0} s, predict {:.0} s, total {:.0} s (device {})",
        t_sim,
        t_train,
        t_predict,
        started.elapsed().as_secs_f64(),
        args.device
    );
    Ok(())
}
