//! `gampen simulate`: synthetic bulge+disk galaxies in the GaMPEN data layout.

use std::path::{Path, PathBuf};

use gampen_data::atomic::read_json;
use gampen_data::atomic_dir::AtomicDir;
use gampen_data::paths::check_io;
use gampen_data::simulate::{simulate_to_dir_with_progress, Truth};
use gampen_data::SimulatorConfig;

use crate::error::Result;
use crate::progress;

/// Options of `gampen simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory to create (cutouts/, info.csv, simulator.json, splits/).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of galaxies.
    #[arg(long, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub count: usize,
    /// Cutout side in pixels (overrides the config's image_size).
    #[arg(long, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub size: Option<usize>,
    /// Seed (overrides the config's seed); galaxy i depends only on (seed, i).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulator configuration as JSON (gampen_data::SimulatorConfig; missing fields take
    /// their defaults). Without it the defaults resemble HSC-Wide g-band cutouts.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not write the standard splits.
    #[arg(long)]
    pub no_splits: bool,
    /// Column the balanced splits are balanced on.
    #[arg(long, default_value = "bt")]
    pub balance_column: String,
    /// Equal-width bins of the balance column.
    #[arg(long, default_value_t = gampen_data::simulate::SIMULATED_BALANCE_BINS, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub bins: usize,
    /// Replace an existing, non-empty --out directory (only once the new one is complete).
    #[arg(long)]
    pub force: bool,
}

/// Runs `gampen simulate`.
pub fn run(args: Args) -> Result<()> {
    let mut config: SimulatorConfig = match &args.config {
        Some(p) => read_json(p)?,
        None => SimulatorConfig::default(),
    };
    config.image_size = args.size.unwrap_or(config.image_size);
    config.seed = args.seed.unwrap_or(config.seed);
    if let Some(c) = &args.config {
        check_io(&[("--config", c)], &[("--out", &args.out)])?;
    }
    let dir = AtomicDir::replacing("--out", &args.out, args.force)?;
    let started = std::time::Instant::now();
    simulate(dir.path(), &config, args.count, true)?;
    if !args.no_splits {
        let written = gampen_data::splits::write_standard_splits(
            dir.path(),
            &args.balance_column,
            args.bins,
            config.seed,
        )?;
        eprintln!(
            "wrote {} split files under {}",
            written.len(),
            args.out.join("splits").display()
        );
    }
    dir.commit()?;
    eprintln!(
        "simulated {} galaxies of {s}x{s} pixels into {} in {:.1} s",
        args.count,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        s = config.image_size
    );
    Ok(())
}

/// Simulates galaxies `0..n` into `dir` with `gampen_data::simulate_to_dir` (on all cores),
/// with a progress bar when `show_progress`.
pub fn simulate(
    dir: &Path,
    config: &SimulatorConfig,
    n: usize,
    show_progress: bool,
) -> Result<Vec<Truth>> {
    let bar = if show_progress {
        progress::bar(n as u64, "simulate")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let truths = simulate_to_dir_with_progress(dir, config, n, &|| bar.inc(1))?;
    bar.finish_and_clear();
    Ok(truths)
}
