//! `gampen crop`: the spatial transformer's crops of cutouts ([`gampen::Predictor::stn_crops`]),
//! as FITS and a PNG grid.

use std::path::PathBuf;

use gampen::device::ComputeDevice;
use gampen::predictor::StnCrop;
use gampen::{PredictOptions, Predictor};
use gampen_data::atomic::write_via_temp;
use gampen_data::atomic_dir::AtomicDir;
use gampen_data::catalog_path;
use gampen_data::paths::check_io;
use gampen_plot::{crop_box_from_theta, crop_grid, Image2d};

use crate::error::Result;
use crate::progress;

/// Options of `gampen crop`.
///
/// Writes `<out>/cutouts/<file_name>` for every galaxy: the model input after the spatial
/// transformer (arsinh-normalised when the model was trained so, `channels x size x size`),
/// and `<out>/info.csv`, a copy of the catalog rows, so `<out>` is itself a data directory.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// A checkpoint directory or a training run directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Data directory with cutouts/ and info.csv.
    #[arg(long)]
    pub data: PathBuf,
    /// Output data directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Crop the galaxies of splits/SPLIT.csv instead of info.csv.
    #[arg(long)]
    pub split: Option<String>,
    /// Also draw the first galaxies with their crop boxes into this PNG.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Galaxies in the PNG grid.
    #[arg(long, default_value_t = 12, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub grid_count: usize,
    /// Galaxies per batch.
    #[arg(long, default_value_t = 64, value_parser = gampen_data::flags::positive_usize, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = ComputeDevice::Flex)]
    pub device: ComputeDevice,
    /// Replace an existing, non-empty --out directory (only once the new one is complete).
    #[arg(long)]
    pub force: bool,
}

/// Runs `gampen crop`.
pub fn run(args: Args) -> Result<()> {
    let n = execute(&args)?;
    eprintln!(
        "wrote {n} cropped cutouts under {}",
        args.out.join("cutouts").display()
    );
    Ok(())
}

/// Crops as `args` say; returns the number of galaxies.
pub fn execute(args: &Args) -> Result<usize> {
    catalog_path(&args.data, args.split.as_deref())?;
    let mut outputs = vec![("--out", args.out.as_path())];
    if let Some(g) = &args.grid {
        outputs.push(("--grid", g));
    }
    check_io(
        &[("--model", &args.model), ("--data", &args.data)],
        &outputs,
    )?;
    let out = AtomicDir::replacing("--out", &args.out, args.force)?;
    let device = args.device.device()?;
    let predictor = Predictor::open(&args.model, &device)?
        .with_options(PredictOptions::new().with_batch_size(args.batch_size))?;
    let bar = progress::spinner("crop");
    let keep = if args.grid.is_some() {
        args.grid_count
    } else {
        0
    };
    let written = predictor.write_crops(
        &args.data,
        args.split.as_deref(),
        out.path(),
        keep,
        |done| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    out.commit()?;
    if let (Some(path), false) = (&args.grid, written.first.is_empty()) {
        write_via_temp(path, |tmp| grid(tmp, &written.first))?;
    }
    Ok(written.count)
}

/// The crops' inputs with their crop boxes, beside the crops (first band), as a PNG.
pub fn grid(path: &std::path::Path, crops: &[StnCrop]) -> Result<()> {
    let band = |img: &gampen_data::Image| Image2d {
        width: img.width,
        height: img.height,
        data: img.band(0).to_vec(),
    };
    let inputs: Vec<_> = crops.iter().map(|c| band(&c.input)).collect();
    let boxes: Vec<_> = crops
        .iter()
        .map(|c| crop_box_from_theta(c.theta, c.input.width, c.input.width))
        .collect();
    let cropped: Vec<_> = crops.iter().map(|c| band(&c.crop)).collect();
    Ok(crop_grid(path, &inputs, &boxes, &cropped, 4)?)
}
