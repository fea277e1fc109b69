//! `gampen crop`: the spatial transformer's crops of cutouts ([`gampen::Predictor::stn_crops`]),
//! as FITS and a PNG grid.

use std::path::PathBuf;

use gampen::{PredictOptions, Predictor};
use gampen_data::catalog_path;
use gampen_plot::{crop_box_from_theta, crop_grid, Image2d};

use crate::device::DeviceArg;
use crate::error::{create_dir, CliError, Result};
use crate::paths::{check_io, write_via_temp, DirOutput, OutFile};
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
    /// Crop the galaxies of splits/<split>.csv instead of info.csv.
    #[arg(long)]
    pub split: Option<String>,
    /// Also draw the first galaxies with their crop boxes into this PNG.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Galaxies in the PNG grid.
    #[arg(long, default_value_t = 12, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub grid_count: usize,
    /// Galaxies per batch.
    #[arg(long, default_value_t = 64, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
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
    let out = DirOutput::create("--out", &args.out, args.force)?;
    let device = args.device.device()?;
    let predictor = Predictor::open(&args.model, &device)?
        .with_options(PredictOptions::new().with_batch_size(args.batch_size))?;
    let out_cutouts = out.path().join("cutouts");
    create_dir(&out_cutouts)?;
    let batches = predictor.catalog_images(&args.data, args.split.as_deref())?;
    let file_col = batches.file_col();
    let info = out.path().join("info.csv");
    let mut writer = OutFile::csv(&info)?;
    writer
        .write_record(batches.headers())
        .map_err(|e| CliError::csv(&info, e))?;

    let bar = progress::spinner("crop");
    let mut grid = Grid::default();
    let mut done = 0usize;
    for batch in batches {
        let batch = batch?;
        let crops = predictor.stn_crops(batch.images)?;
        for (fields, crop) in batch.fields.iter().zip(crops) {
            let name = &fields[file_col];
            let path = out_cutouts.join(name);
            if let Some(parent) = path.parent() {
                create_dir(parent)?;
            }
            crop.write_fits(&path, name)?;
            writer
                .write_record(fields)
                .map_err(|e| CliError::csv(&info, e))?;
            if grid.inputs.len() < args.grid_count {
                grid.push(&crop);
            }
            done += 1;
        }
        bar.set_position(done as u64);
    }
    bar.finish_and_clear();
    OutFile::commit_csv(writer, &info)?;
    out.commit()?;
    if let (Some(path), false) = (&args.grid, grid.inputs.is_empty()) {
        write_via_temp(path, |tmp| {
            Ok(crop_grid(tmp, &grid.inputs, &grid.boxes, &grid.crops, 4)?)
        })?;
    }
    Ok(done)
}

/// The first galaxies' inputs, crop boxes and crops (first band), for the PNG grid.
#[derive(Default)]
struct Grid {
    inputs: Vec<Image2d>,
    boxes: Vec<[f64; 4]>,
    crops: Vec<Image2d>,
}

impl Grid {
    fn push(&mut self, crop: &gampen::predictor::StnCrop) {
        let band = |img: &gampen_data::Image| Image2d {
            width: img.width,
            height: img.height,
            data: img.band(0).to_vec(),
        };
        self.inputs.push(band(&crop.input));
        self.crops.push(band(&crop.crop));
        let s = crop.input.width;
        self.boxes.push(crop_box_from_theta(crop.theta, s, s));
    }
}

/// Tensor values as `f32`, row-major.
pub fn to_vec<const D: usize>(t: burn::tensor::Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| CliError::usage(format!("cannot read tensor data: {e:?}")))
}
