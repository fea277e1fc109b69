//! `gampen evaluate`: [`gampen::evaluate`]'s report of a prediction CSV, printed, written as
//! eval.json and plotted.

use gampen::evaluate::{EvaluateFlags, Evaluation};
use gampen_data::atomic::write_json;
use gampen_data::paths::create_dir;

use crate::error::Result;

mod plots;

pub use plots::write as write_plots;

/// Runs `gampen evaluate`: prints a table, writes eval.json and plots.
pub fn run(flags: EvaluateFlags) -> Result<()> {
    let mut warn = |w: String| eprintln!("warning: {w}");
    let Evaluation {
        report,
        matched,
        fitted,
    } = flags.evaluate(&mut warn)?;
    create_dir(&flags.out)?;
    write_json(&flags.out.join("eval.json"), &report)?;
    plots::write(&flags.out, &matched, &report)?;
    if let (Some(path), Some(scale)) = (&flags.fit_calibration, &fitted) {
        write_json(path, scale)?;
        eprintln!(
            "calibration factors {} written to {}",
            scale.summary(),
            path.display()
        );
    }
    print!("{report}");
    println!("wrote {}", flags.out.join("eval.json").display());
    Ok(())
}
