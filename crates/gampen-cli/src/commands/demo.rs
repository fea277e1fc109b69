//! `gampen demo`: the whole workflow on simulated galaxies in a few minutes on a CPU.

use std::path::PathBuf;
use std::time::Instant;

use gampen::PosteriorOptions;
use gampen_data::{CsvTable, SimulatorConfig};
use gampen_plot::{corner_plot, crop_box_from_theta, crop_grid, Image2d};

use crate::commands::crop::to_vec;
use crate::commands::{evaluate, predict, simulate, train};
use crate::device::DeviceArg;
use crate::error::{create_dir, Result};
use crate::labels::ScalingArg;
use crate::paths::DirOutput;
use gampen_data::{CatalogStream, Preparation};

/// Options of `gampen demo`.
///
/// Simulates 64x64 galaxies (default simulator), trains the small preset on bt, r_e and
/// total_flux (logit/ln/ln, standard scaling; Adam, lr 1e-3 decayed along a cosine to 5e-5,
/// gradient clipping 1.0, batch 32, means fitted by squared error: `--mean-loss mse`),
/// predicts Monte-Carlo-dropout posteriors for the held-out test split, prints errors and
/// coverage, and writes plots into --out.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory (data/, run/, predictions.csv, eval/ and the plots).
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
    /// Galaxies to simulate (balanced-dev split: about 70 % train, 15 % devel, 15 % test).
    #[arg(long, default_value_t = 1600, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub count: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 12, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub epochs: usize,
    /// Epochs that fit only the means before the covariance likelihood (see `gampen train
    /// --warmup-epochs`).
    #[arg(long, default_value_t = 0, value_parser = crate::flags::count_usize, allow_negative_numbers = true)]
    pub warmup_epochs: usize,
    /// How the means are fitted (see `gampen train --mean-loss`).
    #[arg(long, value_enum, default_value_t = train::MeanLossArg::Mse)]
    pub mean_loss: train::MeanLossArg,
    /// Cosine learning-rate decay to this fraction of the initial rate (see `gampen train
    /// --final-lr-factor`).
    #[arg(long, default_value_t = 0.05, value_parser = crate::flags::finite_non_negative_f64, allow_negative_numbers = true)]
    pub final_lr_factor: f64,
    /// Monte-Carlo dropout passes per test galaxy.
    #[arg(long, default_value_t = 50, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub passes: usize,
    /// Seed of the simulation and training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
    /// Replace an existing, non-empty --out directory (only once the new demo is complete).
    #[arg(long)]
    pub force: bool,
}

/// Runs `gampen demo`: the whole demo is assembled in a hidden directory beside --out and
/// moved into place when complete, so a failed or killed demo leaves a previous one intact.
pub fn run(args: Args) -> Result<()> {
    let dir = DirOutput::create("--out", &args.out, args.force)?;
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
    let sim = SimulatorConfig {
        seed: args.seed,
        ..SimulatorConfig::default()
    };
    simulate::simulate(&data, &sim, args.count, true)?;
    gampen_data::splits::write_standard_splits(&data, "bt", 5, args.seed)?;
    let t_sim = started.elapsed().as_secs_f64();

    eprintln!("[2/5] training the small preset for {} epochs", args.epochs);
    let run_dir = args.out.join("run");
    let train_args = train::Args {
        data: data.clone(),
        split: "balanced-dev".into(),
        labels: "bt,r_e,total_flux".into(),
        transforms: Some("logit,ln,ln".into()),
        scaling: ScalingArg::Standard,
        out: run_dir.clone(),
        preset: train::PresetArg::Small,
        cutout_size: None,
        channels: None,
        loss: None,
        covariance: None,
        stn: None,
        dropout: None,
        width: None,
        hidden: None,
        init_backbone: None,
        init_classifier: false,
        epochs: args.epochs,
        batch_size: 32,
        lr: Some(1e-3),
        final_lr_factor: Some(args.final_lr_factor),
        optimizer: train::OptimizerArg::Adam,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.0,
        patience: None,
        seed: args.seed,
        no_augment: false,
        clip_grad_norm: Some(1.0),
        warmup_epochs: args.warmup_epochs,
        mean_loss: args.mean_loss,
        from: None,
        freeze_stn: false,
        freeze_backbone: false,
        new_head: false,
        device: args.device,
        no_resume: true,
        quiet: false,
    };
    let outcome = train::execute(&train_args)?;
    let t_train = started.elapsed().as_secs_f64() - t_sim;

    eprintln!(
        "[3/5] predicting posteriors ({} passes x 10 draws) for the test split",
        args.passes
    );
    let predictions = args.out.join("predictions.csv");
    let predict_args = predict::Args {
        model: run_dir.clone(),
        data: data.clone(),
        split: Some("balanced-dev-test".into()),
        out: predictions.clone(),
        passes: args.passes,
        samples_per_pass: 10,
        batch_size: 64,
        seed: args.seed,
        device: args.device,
        samples_out: None,
        shard: None,
        calibration: None,
        intervals: Default::default(),
        columns: Default::default(),
        dropout: None,
        quiet: false,
    };
    let n_test = predict::execute(&predict_args)?;
    let t_predict = started.elapsed().as_secs_f64() - t_sim - t_train;

    eprintln!("[4/5] evaluating against the true values");
    let eval_args = evaluate::Args {
        predictions: predictions.clone(),
        data: data.clone(),
        labels: None,
        out: args.out.clone(),
        fit_calibration: None,
        force: true,
    };
    let report = evaluate::execute(&eval_args)?;

    eprintln!("[5/5] plotting crops, a corner plot and the loss curve");
    let device = args.device.device()?;
    let (model, labels) = (&outcome.model, &outcome.labels);
    let cfg = model.config().clone();
    let prep = Preparation::for_model(&data, None, cfg.cutout_size, cfg.channels);
    let test_csv = gampen_data::splits::split_path(&data, "balanced-dev-test");
    let mut stream = CatalogStream::open(&test_csv)?;
    let col = stream.file_col();
    let mut names = Vec::new();
    while let Some((_, f)) = stream.next_row()? {
        names.push(f[col].clone());
        if names.len() == 12 {
            break;
        }
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let images = prep.batch(&refs, &device)?;
    let (s, per) = (
        cfg.cutout_size,
        cfg.channels * cfg.cutout_size * cfg.cutout_size,
    );
    let theta = to_vec(model.theta(images.clone()))?;
    let crops = to_vec(model.transform(images.clone()))?;
    let inputs = to_vec(images.clone())?;
    let tile = |v: &[f32], k: usize| Image2d {
        width: s,
        height: s,
        data: v[k * per..k * per + s * s].to_vec(),
    };
    let boxes: Vec<[f64; 4]> = (0..names.len())
        .map(|k| crop_box_from_theta(theta[k * 6..k * 6 + 6].try_into().expect("6"), s, s))
        .collect();
    crop_grid(
        &args.out.join("crops.png"),
        &(0..names.len())
            .map(|k| tile(&inputs, k))
            .collect::<Vec<_>>(),
        &boxes,
        &(0..names.len())
            .map(|k| tile(&crops, k))
            .collect::<Vec<_>>(),
        4,
    )?;
    let one = images.slice([0..1, 0..cfg.channels, 0..s, 0..s]);
    let options = PosteriorOptions::new()
        .with_passes(args.passes)
        .with_keep_samples(true)
        .with_seed(Some(args.seed));
    let inverse: &dyn gampen::posterior::LabelInverse = match &labels {
        Some(l) => l,
        None => &gampen::posterior::Identity,
    };
    let post = model.predict_posterior(one, &options, inverse)?;
    let info = CsvTable::read(test_csv)?;
    let truth: Vec<f64> = outcome
        .parameters
        .iter()
        .map(|p| info.numeric_column(p).map(|c| c[0]))
        .collect::<std::result::Result<_, _>>()?;
    if let Some(samples) = post[0].samples.as_ref() {
        corner_plot(
            &args.out.join("corner.png"),
            &outcome.parameters,
            samples,
            Some(&truth),
        )?;
    }
    let train_loss: Vec<f64> = outcome
        .report
        .history
        .iter()
        .map(|m| m.train_loss)
        .collect();
    let devel_loss: Vec<f64> = outcome
        .report
        .history
        .iter()
        .map(|m| m.devel_loss)
        .collect();
    gampen_plot::loss_curve(&args.out.join("loss.png"), &train_loss, &devel_loss)?;

    println!();
    println!(
        "GaMPEN demo: {} simulated galaxies, trained {} epochs on {} (best epoch {}), {} test galaxies, {} MC-dropout passes",
        args.count, outcome.report.epochs, outcome.sizes[0], outcome.report.best_epoch, n_test, args.passes
    );
    evaluate::print_table(&report);
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
