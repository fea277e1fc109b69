//! The demo's steps around training, through the library: simulating the data, predicting
//! the test split's raw posteriors, and measuring them before and after the calibration
//! training fitted on devel.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gampen::calibration::{CalibrationScale, CoverageReport};
use gampen::checkpoint;
use gampen::evaluate::{EvalReport, EvaluateFlags};
use gampen::posterior::Orientations;
use gampen::{PredictOptions, Predictor};
use gampen_data::splits::{write_split, Balance};
use gampen_data::{CsvTable, SimulatorConfig, SplitFractions};

use super::Args;
use gampen_data::atomic::write_json;

use crate::commands::evaluate;
use crate::commands::simulate;
use crate::error::Result;
use crate::progress;

/// The split the demo trains, calibrates and reports on: `splits/demo-{train,devel,test}.csv`.
pub const SPLIT: &str = "demo";

/// The test part of [`SPLIT`].
pub const TEST_SPLIT: &str = "demo-test";

/// Half the galaxies train, a quarter fit the calibration, a quarter measure it.
///
/// The standard `balanced-dev` split (70/15/15) leaves devel and test a few hundred galaxies
/// each at the demo's size. The test coverage of intervals calibrated on devel then scatters
/// by sqrt(p (1 - p) (1/n_devel + 1/n_test)): 3.1 points at 68 % for 460 and 460, so a
/// perfectly calibrated model missed the 5-point target on one parameter or another in about
/// a quarter of the seeds (docs/accuracy.md). Predicting is cheap next to training, so the demo
/// simulates more galaxies and gives the extra ones to devel and test: 2.0 points at about
/// 1,070 and 1,070, for the same training set.
pub const FRACTIONS: SplitFractions = SplitFractions {
    train: 0.5,
    devel: 0.25,
    test: 0.25,
};

/// Simulates `args.count` galaxies into `data` with the standard splits and [`SPLIT`]
/// (balanced on B/T like the standard ones).
pub fn simulate(args: &Args, data: &Path) -> Result<()> {
    let sim = SimulatorConfig {
        seed: args.seed,
        ..SimulatorConfig::default()
    };
    simulate::simulate(data, &sim, args.count, true)?;
    let (column, bins) = ("bt", 5);
    gampen_data::splits::write_standard_splits(data, column, bins, args.seed)?;
    let table = CsvTable::read(data.join("info.csv"))?;
    let balance = Balance::Balanced {
        column: column.into(),
        bins,
    };
    write_split(data, &table, SPLIT, &FRACTIONS, &balance, args.seed)?;
    Ok(())
}

/// The raw test predictions.
pub struct Predicted {
    /// `predictions.csv`.
    pub path: PathBuf,
    /// Galaxies in it.
    pub count: usize,
    /// The checkpoint's calibration.json and its factors (not applied to the file).
    pub calibration: Option<(PathBuf, CalibrationScale)>,
}

/// Predicts raw posteriors (`args.passes` passes x 10 draws over the eight flips and
/// quarter turns, no calibration) of the test split with the run's best checkpoint into
/// `predictions.csv`.
pub fn predict(args: &Args, run_dir: &Path, data: &Path, device: &Device) -> Result<Predicted> {
    let predictions = args.out.join("predictions.csv");
    let options = PredictOptions::new()
        .with_passes(args.passes)
        .with_seed(args.seed)
        .with_orientations(Orientations::Dihedral)
        .with_calibrate(false);
    let predictor = Predictor::open(run_dir, device)?.with_options(options)?;
    let bar = progress::bar(0, "predict");
    let count = predictor.write_csv(data, Some(TEST_SPLIT), &predictions, None, |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
    })?;
    bar.finish_and_clear();
    let file = predictor.dir().join(checkpoint::files::CALIBRATION);
    let calibration = predictor.calibration().map(|c| (file, c.clone()));
    Ok(Predicted {
        path: predictions,
        count,
        calibration,
    })
}

/// The test split's numbers: the evaluation of the raw predictions (with the calibration's
/// coverage in `after_calibration`), and the coverage before and after the calibration.
pub struct TestReport {
    /// What eval.json holds.
    pub eval: EvalReport,
    /// Coverage of the raw intervals.
    pub before: CoverageReport,
    /// Coverage with the checkpoint's factors applied (the intervals `gampen predict`
    /// writes by default); `None` without a calibration.
    pub after: Option<CoverageReport>,
}

/// Errors and coverage of the raw `predictions` against the truth in `data`, before and
/// after `calibration` ([`EvaluateFlags::evaluate`]); eval.json and the evaluation plots go
/// into `args.out`.
pub fn evaluate(
    args: &Args,
    data: &Path,
    predictions: &Path,
    calibration: Option<&(PathBuf, CalibrationScale)>,
) -> Result<TestReport> {
    let flags = EvaluateFlags {
        predictions: predictions.to_path_buf(),
        data: data.to_path_buf(),
        labels: None,
        out: args.out.clone(),
        fit_calibration: None,
        calibration: calibration.map(|(file, _)| file.clone()),
        model: None,
        samples: None,
        force: true,
    };
    let evaluation = flags.evaluate(&mut |w| eprintln!("warning: {w}"))?;
    let matched = &evaluation.matched;
    write_json(&args.out.join("eval.json"), &evaluation.report)?;
    evaluate::write_plots(&args.out, matched, &evaluation.report)?;
    Ok(TestReport {
        before: matched.coverage(),
        after: calibration.map(|(_, c)| matched.calibrated(c).coverage()),
        eval: evaluation.report,
    })
}
