//! The training loop.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use gampen_data::LabelTransform;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::metrics::{EpochMetrics, ErrorAccumulator, Evaluation};
use super::objective::Objective;
use super::resume;
use crate::checkpoint::{self, files, write_atomic};
use crate::data::GalaxySet;
use crate::error::GampenError;
use crate::model::Gampen;
use crate::posterior::{Identity, LabelInverse};
use gampen_data::simulate::mix_seed;

/// What a training run did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainReport {
    /// Epochs completed in total (including those before a resume).
    pub epochs: usize,
    /// Epoch with the lowest devel loss.
    pub best_epoch: usize,
    /// The lowest devel loss.
    pub best_devel_loss: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Per-epoch metrics, first to last.
    pub history: Vec<EpochMetrics>,
    /// Checkpoint directory of the best epoch.
    pub best_checkpoint: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TrainState {
    epoch: usize,
    best_devel_loss: f64,
    best_epoch: usize,
    since_best: usize,
    history: Vec<EpochMetrics>,
}

/// Trains `model` on `train`, evaluating on `devel` after every epoch, in `run_dir`.
///
/// The run directory receives `checkpoints/epoch-NNNN/` (see [`checkpoint`](crate::checkpoint)),
/// `best.json` and `last.json` pointing at the best and latest ones, and `metrics.jsonl`. With
/// `config.resume`, a run directory that already holds a `last.json` continues from there:
/// an interrupted run loses at most the epoch in progress.
///
/// `labels` (the transform fitted on the training split) is saved with every checkpoint and
/// used to report errors in original units. Returns the model of the **best** epoch (on
/// `device`, without autodiff) and the report.
///
/// A NaN or infinite loss stops training with [`GampenError::NonFiniteLoss`], naming the
/// batch; nothing is written for the failing epoch, so the last good checkpoint survives.
pub fn train(
    model: Gampen,
    train: &dyn GalaxySet,
    devel: &dyn GalaxySet,
    labels: Option<&LabelTransform>,
    config: &TrainConfig,
    run_dir: &Path,
    device: &Device,
) -> Result<(Gampen, TrainReport), GampenError> {
    let n = model.config().num_params();
    check_sets(n, train, devel)?;
    config.validate()?;
    fs::create_dir_all(run_dir.join("checkpoints")).map_err(|e| GampenError::io(run_dir, e))?;
    resume::clean_stale_temporaries(run_dir)?;
    let inverse: &dyn LabelInverse = match labels {
        Some(l) => l,
        None => &Identity,
    };

    let autodiff = device.clone().autodiff();
    let mut model = model.fork(&autodiff).train();
    if config.freeze_stn {
        model = model.freeze_stn();
    }
    if config.freeze_backbone {
        model = model.freeze_backbone();
    }
    let mut optim = config.optimizer.init(config.clip_grad_norm);
    let mut state = TrainState {
        epoch: 0,
        best_devel_loss: f64::INFINITY,
        best_epoch: 0,
        since_best: 0,
        history: Vec::new(),
    };

    let last_pointer = run_dir.join(files::LAST);
    if config.resume && last_pointer.is_file() {
        let dir = checkpoint::resolve_pointer(&last_pointer)?;
        model = checkpoint::load_weights(model, &dir)?;
        let opt_path = dir.join(files::OPTIMIZER);
        if opt_path.is_file() {
            optim = optim.load(&opt_path).map_err(|e| {
                GampenError::checkpoint(&opt_path, format!("cannot read optimiser state: {e}"))
            })?;
        }
        let state_path = dir.join(files::STATE);
        let text = fs::read_to_string(&state_path).map_err(|e| GampenError::io(&state_path, e))?;
        state = serde_json::from_str(&text)
            .map_err(|e| GampenError::checkpoint(&state_path, format!("corrupt state: {e}")))?;
        if config.progress {
            eprintln!("resuming {} after epoch {}", run_dir.display(), state.epoch);
        }
    }

    let loss_fn = model.loss();
    // A fresh run starts a fresh log; a resumed one continues the checkpoint's own history.
    let mut metrics_file = resume::open_metrics_log(run_dir, &state.history)?;
    let batches = train.len().div_ceil(config.batch_size);
    let mut stopped_early = false;

    while state.epoch < config.epochs {
        let epoch = state.epoch + 1;
        let objective = if epoch <= config.warmup_epochs {
            Objective::Warmup
        } else {
            Objective::Train(config.mean_loss)
        };
        let warmup = objective == Objective::Warmup;
        let lr = config.lr_at(epoch);
        let started = Instant::now();
        // Seeding per epoch makes a resumed run draw the same dropout masks and shuffles as
        // an uninterrupted one.
        autodiff.seed(mix_seed(config.seed ^ (epoch as u64) << 32, 0));
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(mix_seed(
            config.seed + epoch as u64,
            0,
        )));

        let bar = progress_bar(config.progress, batches as u64, epoch, config.epochs);
        let mut loss_sum = 0.0;
        let mut train_err = ErrorAccumulator::new(n);
        for (b, idx) in order.chunks(config.batch_size).enumerate() {
            let seed = config
                .augment
                .then(|| mix_seed(config.seed ^ ((epoch as u64) << 40) ^ b as u64, 0));
            let (images, targets) = train.batch(idx, seed, &autodiff)?;
            model.check_input(images.dims())?;
            let outputs = model.forward(images);
            let loss = objective.loss(&loss_fn, outputs.clone(), targets.clone())?;
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                bar.abandon();
                return Err(GampenError::NonFiniteLoss {
                    epoch,
                    batch: b,
                    value,
                    checkpoint: last_pointer
                        .is_file()
                        .then(|| checkpoint::resolve_pointer(&last_pointer).ok())
                        .flatten(),
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            loss_sum += value;
            accumulate(&mut train_err, outputs.inner(), targets.inner(), n, inverse)?;
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", loss_sum / (b + 1) as f64));
        }
        bar.finish_and_clear();

        let devel_eval = evaluate(&model.valid(), devel, config.batch_size, device, inverse)?;
        let devel_loss = devel_eval.loss;
        let best = !warmup && devel_loss < state.best_devel_loss;
        if best {
            state.best_devel_loss = devel_loss;
            state.best_epoch = epoch;
            state.since_best = 0;
        } else if !warmup {
            state.since_best += 1;
        }
        let metrics = EpochMetrics {
            epoch,
            train_loss: loss_sum / batches.max(1) as f64,
            warmup,
            devel_loss,
            devel_mae: devel_eval.mae,
            devel_mse: devel_eval.mse,
            train_mae: train_err.mae(),
            best,
            seconds: started.elapsed().as_secs_f64(),
        };
        state.history.push(metrics.clone());
        state.epoch = epoch;

        let name = format!("epoch-{epoch:04}");
        let dir = run_dir.join("checkpoints").join(&name);
        let opt_bytes = optim.into_bytes().map_err(|e| {
            GampenError::checkpoint(&dir, format!("cannot serialise optimiser: {e}"))
        })?;
        let state_bytes = serde_json::to_vec_pretty(&state).expect("state serialises");
        checkpoint::save_with(
            &model.valid(),
            labels,
            &dir,
            &[
                (files::OPTIMIZER, opt_bytes.to_vec()),
                (files::STATE, state_bytes),
            ],
        )?;
        let pointer = serde_json::to_vec(
            &serde_json::json!({ "checkpoint": format!("checkpoints/{name}"), "epoch": epoch }),
        )
        .expect("pointer serialises");
        if best {
            write_atomic(&run_dir.join(files::BEST), &pointer)?;
        }
        write_atomic(&last_pointer, &pointer)?;
        prune(run_dir, state.best_epoch, epoch, config.keep_last)?;

        let line = serde_json::to_string(&metrics).expect("metrics serialise");
        writeln!(metrics_file, "{line}").map_err(|e| GampenError::io(run_dir, e))?;
        if config.progress {
            eprintln!(
                "epoch {epoch:>3}/{}  train {:.4}  devel {:.4}{}  MAE {}",
                config.epochs,
                metrics.train_loss,
                devel_loss,
                if best {
                    " *"
                } else if warmup {
                    " w"
                } else {
                    "  "
                },
                fmt_list(&metrics.devel_mae)
            );
        }
        if let Some(patience) = config.patience {
            if state.since_best >= patience {
                stopped_early = true;
                break;
            }
        }
    }

    let best_checkpoint = run_dir
        .join("checkpoints")
        .join(format!("epoch-{:04}", state.best_epoch));
    let best_model = checkpoint::load_weights(model.valid(), &best_checkpoint)?;
    Ok((
        best_model,
        TrainReport {
            epochs: state.epoch,
            best_epoch: state.best_epoch,
            best_devel_loss: state.best_devel_loss,
            stopped_early,
            history: state.history,
            best_checkpoint,
        },
    ))
}

/// Mean loss per galaxy and errors (original units) of `model` on `set`, without dropout.
pub fn evaluate(
    model: &Gampen,
    set: &dyn GalaxySet,
    batch_size: usize,
    device: &Device,
    labels: &dyn LabelInverse,
) -> Result<Evaluation, GampenError> {
    let n = model.config().num_params();
    let loss_fn = model.loss();
    let mut err = ErrorAccumulator::new(n);
    let mut total = 0.0;
    let indices: Vec<usize> = (0..set.len()).collect();
    for idx in indices.chunks(batch_size.max(1)) {
        let (images, targets) = set.batch(idx, None, device)?;
        model.check_input(images.dims())?;
        let outputs = model.forward(images);
        let per = loss_fn.forward_no_reduction(outputs.clone(), targets.clone())?;
        total += per.sum().into_scalar::<f32>() as f64;
        accumulate(&mut err, outputs, targets, n, labels)?;
    }
    Ok(Evaluation {
        loss: total / set.len().max(1) as f64,
        mae: err.mae(),
        mse: err.mse(),
    })
}

fn accumulate(
    err: &mut ErrorAccumulator,
    outputs: Tensor<2>,
    targets: Tensor<2>,
    n: usize,
    labels: &dyn LabelInverse,
) -> Result<(), GampenError> {
    let [b, k] = outputs.dims();
    let out = to_f64(outputs)?;
    let tgt = to_f64(targets)?;
    for g in 0..b {
        // The first n outputs are the predicted means for every loss kind.
        let pred: Vec<f64> = (0..n)
            .map(|p| labels.to_original(p, out[g * k + p]))
            .collect();
        let truth: Vec<f64> = (0..n)
            .map(|p| labels.to_original(p, tgt[g * n + p]))
            .collect();
        err.add(&pred, &truth);
    }
    Ok(())
}

fn to_f64<const D: usize>(t: Tensor<D>) -> Result<Vec<f64>, GampenError> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .map_err(|e| GampenError::Shape(format!("{e:?}")))
}

fn check_sets(n: usize, train: &dyn GalaxySet, devel: &dyn GalaxySet) -> Result<(), GampenError> {
    for (name, set) in [("training", train), ("devel", devel)] {
        if set.is_empty() {
            return Err(GampenError::Config(format!("the {name} set is empty")));
        }
        if set.num_params() != n {
            return Err(GampenError::Config(format!(
                "the {name} set has {} target parameters but the model predicts {n}",
                set.num_params()
            )));
        }
    }
    Ok(())
}

fn prune(run_dir: &Path, best: usize, last: usize, keep_last: usize) -> Result<(), GampenError> {
    let dir = run_dir.join("checkpoints");
    let entries = fs::read_dir(&dir).map_err(|e| GampenError::io(&dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(epoch) = name
            .strip_prefix("epoch-")
            .and_then(|e| e.parse::<usize>().ok())
        else {
            continue;
        };
        if epoch != best && epoch + keep_last.max(1) <= last {
            // Out of sight first: a kill during the removal must not leave a half-deleted
            // checkpoint under its own name. The temporary name is one a resume cleans up.
            let doomed = crate::atomic::tmp_sibling(&entry.path());
            fs::rename(entry.path(), &doomed).map_err(|e| GampenError::io(&entry.path(), e))?;
            fs::remove_dir_all(&doomed).map_err(|e| GampenError::io(&doomed, e))?;
        }
    }
    Ok(())
}

fn progress_bar(show: bool, len: u64, epoch: usize, epochs: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} ({eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar
}

fn fmt_list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}
