//! Simulating many galaxies in parallel, in memory or to a data directory in the user
//! layout (`cutouts/*.fits`, `info.csv`, `splits/*.csv`).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::config::SimulatorConfig;
use super::galaxy::{GalaxyParams, Parts, Renderer};
use super::truth::Truth;
use crate::fits::{write_fits, HeaderCard};
use crate::splits::write_standard_splits;
use crate::{DataError, Image};

/// Simulates galaxies `0..n` in memory on all cores. Deterministic for a configuration
/// (each galaxy has its own seed), whatever the number of threads.
pub fn simulate_images(
    config: &SimulatorConfig,
    n: usize,
) -> Result<Vec<(Image, Truth)>, DataError> {
    config.validate()?;
    Ok((0..n as u64)
        .into_par_iter()
        .map_init(
            || Renderer::new(config),
            |renderer, i| {
                let params = GalaxyParams::draw(config, i);
                let image = renderer.render(&params, Parts::ALL);
                (image, params.truth(config, i, file_name(i)))
            },
        )
        .collect())
}

/// The cutout file name of galaxy `i`.
pub fn file_name(i: u64) -> String {
    format!("sim_{i:07}.fits")
}

/// Simulates `n` galaxies into `dir`: `cutouts/sim_NNNNNNN.fits` (BITPIX -32, with the
/// pixel scale, zero-point and PSF in the header), `info.csv` (one [`Truth`] row each) and
/// `simulator.json` (the configuration). Returns the truths.
pub fn simulate_to_dir(
    dir: impl AsRef<Path>,
    config: &SimulatorConfig,
    n: usize,
) -> Result<Vec<Truth>, DataError> {
    simulate_to_dir_with_progress(dir, config, n, &|| {})
}

/// [`simulate_to_dir`] calling `on_galaxy` (from any worker thread) after each galaxy is
/// written, for progress bars.
pub fn simulate_to_dir_with_progress(
    dir: impl AsRef<Path>,
    config: &SimulatorConfig,
    n: usize,
    on_galaxy: &(dyn Fn() + Sync),
) -> Result<Vec<Truth>, DataError> {
    config.validate()?;
    let dir = dir.as_ref();
    let cutouts = dir.join("cutouts");
    std::fs::create_dir_all(&cutouts).map_err(|e| DataError::io(&cutouts, e))?;
    let truths: Vec<Truth> = (0..n as u64)
        .into_par_iter()
        .map_init(
            || Renderer::new(config),
            |renderer, i| {
                let params = GalaxyParams::draw(config, i);
                let image = renderer.render(&params, Parts::ALL);
                let truth = params.truth(config, i, file_name(i));
                let cards = [
                    HeaderCard::text("OBJECT", &truth.file_name, "gampen-data simulation"),
                    HeaderCard::real("PIXSCALE", config.pixel_scale, "arcsec / pixel"),
                    HeaderCard::real("MAGZERO", config.zero_point, "mag zero-point"),
                    HeaderCard::real("PSFFWHM", truth.psf_fwhm, "PSF FWHM, arcsec"),
                    HeaderCard::text("BUNIT", "ADU", ""),
                ];
                write_fits(cutouts.join(&truth.file_name), &image, &cards)?;
                on_galaxy();
                Ok(truth)
            },
        )
        .collect::<Result<_, DataError>>()?;
    let info = dir.join("info.csv");
    let csv_err = |source| DataError::csv(&info, source);
    let mut writer = csv::Writer::from_path(&info).map_err(csv_err)?;
    for t in &truths {
        writer.serialize(t).map_err(csv_err)?;
    }
    writer.flush().map_err(|e| DataError::io(&info, e))?;
    let json = dir.join("simulator.json");
    let text = serde_json::to_string_pretty(config).map_err(|source| DataError::Json {
        path: json.clone(),
        source,
    })?;
    std::fs::write(&json, text).map_err(|e| DataError::io(&json, e))?;
    Ok(truths)
}

/// What [`prepare_simulated_dataset`] wrote.
#[derive(Debug, Clone)]
pub struct PreparedDataset {
    /// The data directory.
    pub dir: PathBuf,
    /// Ground truth of every galaxy (the rows of `info.csv`).
    pub truths: Vec<Truth>,
    /// The 42 split files.
    pub splits: Vec<PathBuf>,
}

/// Number of B/T bins of the balanced splits of simulated data.
pub const SIMULATED_BALANCE_BINS: usize = 5;

/// One call for a training set: simulates `n` galaxies with `config` (its seed replaced by
/// `seed`) into `dir`, then writes all standard splits, balanced on `bt` in
/// [`SIMULATED_BALANCE_BINS`] bins. Load it with [`crate::GalaxyDataset::load`].
pub fn prepare_simulated_dataset(
    dir: impl AsRef<Path>,
    n: usize,
    config: &SimulatorConfig,
    seed: u64,
) -> Result<PreparedDataset, DataError> {
    let dir = dir.as_ref();
    let config = SimulatorConfig {
        seed,
        ..config.clone()
    };
    let truths = simulate_to_dir(dir, &config, n)?;
    let splits = write_standard_splits(dir, "bt", SIMULATED_BALANCE_BINS, seed)?;
    Ok(PreparedDataset {
        dir: dir.to_path_buf(),
        truths,
        splits,
    })
}
