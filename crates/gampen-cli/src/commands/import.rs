//! `gampen import`: a GaMPEN PyTorch model (published or not) as a gampen checkpoint, as
//! [`ImportFlags`] describe it.

use gampen::checkpoint;
use gampen::import::{ImportFlags, Imported};

use crate::error::Result;

/// Runs `gampen import`.
pub fn run(flags: ImportFlags) -> Result<()> {
    flags.check()?;
    let device = flags.device.device()?;
    let request = flags.request(&mut |w| eprintln!("warning: {w}"))?;
    let Imported {
        model,
        labels,
        description,
    } = request.import(&flags.state_dict, &device)?;
    checkpoint::save(&model, labels.as_ref(), &flags.out)?;
    let cfg = model.config();
    println!(
        "imported {description} into {}: {}x{} input, {} channels, dropout {}, predicting {}{}",
        flags.out.display(),
        cfg.cutout_size,
        cfg.cutout_size,
        cfg.channels,
        cfg.dropout,
        cfg.parameters.join(", "),
        if labels.is_some() {
            " (in original units)"
        } else {
            " (in the network's scaled units)"
        }
    );
    Ok(())
}
