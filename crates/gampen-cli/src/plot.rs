//! Plots written as every output is: complete or not at all.

use std::path::Path;

use gampen_data::atomic::write_via_temp;
use gampen_plot::PlotError;

use crate::error::Result;

/// Lets `plot` draw `dest` under a temporary name ([`write_via_temp`]).
pub fn write_plot(dest: &Path, plot: impl FnOnce(&Path) -> Result<(), PlotError>) -> Result<()> {
    write_via_temp(dest, |tmp| Ok(plot(tmp)?))
}
