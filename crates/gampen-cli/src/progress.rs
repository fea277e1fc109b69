//! Progress bars on stderr, and the training observer that draws them.

use std::path::Path;

use burn::module::Module;
use gampen::device::ComputeDevice;
use gampen::train::{EpochLines, EpochMetrics, TrainObserver};
use gampen::Gampen;
use indicatif::{ProgressBar, ProgressStyle};

/// `bar` drawn with the indicatif `template`.
fn styled(bar: ProgressBar, template: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(template).expect("static template");
    bar.set_style(style.progress_chars("=> "));
    bar
}

/// A bar of `len` items labelled `what` (hidden when `len` is 0 or stderr is not a terminal,
/// as indicatif decides).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let template =
        format!("{what} [{{bar:30}}] {{pos}}/{{len}} {{msg}} ({{elapsed}} elapsed, eta {{eta}})");
    styled(ProgressBar::new(len), &template)
}

/// A spinner counting items of unknown total.
pub fn spinner(what: &str) -> ProgressBar {
    let template = format!("{{spinner}} {what}: {{pos}} {{msg}} ({{elapsed}})");
    let bar = styled(ProgressBar::new_spinner(), &template);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Training progress on stderr: what is loaded and trained, a bar per epoch, and the
/// library's line per epoch ([`EpochLines`]).
pub struct TrainProgress {
    device: ComputeDevice,
    bar: Option<ProgressBar>,
}

impl TrainProgress {
    /// Progress of a run on `device` (named in the start line).
    pub fn new(device: ComputeDevice) -> Self {
        Self { device, bar: None }
    }
}

impl TrainObserver for TrainProgress {
    fn on_load(&mut self, data: &Path, split: &str) {
        EpochLines.on_load(data, split);
    }

    fn on_start(&mut self, model: &Gampen, sizes: [usize; 2], epochs: usize) {
        eprintln!(
            "training {} parameters ({}) on {} galaxies, devel {}, {epochs} epochs, device {}",
            model.num_params(),
            model.config().parameters.join(", "),
            sizes[0],
            sizes[1],
            self.device
        );
    }

    fn on_resume(&mut self, run_dir: &Path, epoch: usize) {
        EpochLines.on_resume(run_dir, epoch);
    }

    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let template = "epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} ({eta})";
        let bar = styled(ProgressBar::new(batches as u64), template);
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    fn on_batch(&mut self, _batch: usize, mean_loss: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!("loss {mean_loss:.4}"));
        }
    }

    fn on_epoch(&mut self, metrics: &EpochMetrics, epochs: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        EpochLines.on_epoch(metrics, epochs);
    }

    fn on_abort(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}
