//! `gampen simulate`: synthetic bulge+disk galaxies in the GaMPEN data layout.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gampen_data::fits::HeaderCard;
use gampen_data::simulate::{file_name, GalaxyParams, Parts, Renderer, Truth};
use gampen_data::{write_fits, SimulatorConfig};

use crate::error::{create_dir, read_json, write_json, CliError, Result};
use crate::progress;

/// Options of `gampen simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory to create (cutouts/, info.csv, simulator.json, splits/).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of galaxies.
    #[arg(long)]
    pub count: usize,
    /// Cutout side in pixels (overrides the config's image_size).
    #[arg(long)]
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
    #[arg(long, default_value_t = gampen_data::simulate::SIMULATED_BALANCE_BINS)]
    pub bins: usize,
}

/// Runs `gampen simulate`.
pub fn run(args: Args) -> Result<()> {
    let mut config: SimulatorConfig = match &args.config {
        Some(p) => read_json(p)?,
        None => SimulatorConfig::default(),
    };
    if let Some(s) = args.size {
        config.image_size = s;
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    if args.count == 0 {
        return Err(CliError::usage("--count must be at least 1"));
    }
    let started = std::time::Instant::now();
    simulate(&args.out, &config, args.count, true)?;
    if !args.no_splits {
        let written = gampen_data::splits::write_standard_splits(
            &args.out,
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
    eprintln!(
        "simulated {} galaxies of {s}x{s} pixels into {} in {:.1} s",
        args.count,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        s = config.image_size
    );
    Ok(())
}

/// Simulates galaxies `0..n` into `dir` like `gampen_data::simulate_to_dir` (same files,
/// header cards and catalog), on all cores, with a progress bar when `show_progress`.
pub fn simulate(
    dir: &Path,
    config: &SimulatorConfig,
    n: usize,
    show_progress: bool,
) -> Result<Vec<Truth>> {
    config.validate()?;
    let cutouts = dir.join("cutouts");
    create_dir(&cutouts)?;
    let bar = if show_progress {
        progress::bar(n as u64, "simulate")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Truth>>> = Mutex::new(vec![None; n]);
    let first_error: Mutex<Option<CliError>> = Mutex::new(None);
    let workers = std::thread::available_parallelism()
        .map_or(1, |v| v.get())
        .min(n.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut renderer = Renderer::new(config);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n || first_error.lock().expect("lock").is_some() {
                        break;
                    }
                    match render_one(&mut renderer, config, &cutouts, i as u64) {
                        Ok(t) => results.lock().expect("lock")[i] = Some(t),
                        Err(e) => {
                            first_error.lock().expect("lock").get_or_insert(e);
                            break;
                        }
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(e) = first_error.into_inner().expect("lock") {
        return Err(e);
    }
    let truths: Vec<Truth> = results
        .into_inner()
        .expect("lock")
        .into_iter()
        .map(|t| t.expect("every galaxy simulated"))
        .collect();
    let info = dir.join("info.csv");
    let mut writer = csv::Writer::from_path(&info).map_err(|e| CliError::csv(&info, e))?;
    for t in &truths {
        writer.serialize(t).map_err(|e| CliError::csv(&info, e))?;
    }
    writer.flush().map_err(|e| CliError::io(&info, e))?;
    write_json(&dir.join("simulator.json"), config)?;
    Ok(truths)
}

fn render_one(
    renderer: &mut Renderer,
    config: &SimulatorConfig,
    cutouts: &Path,
    i: u64,
) -> Result<Truth> {
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
    Ok(truth)
}
