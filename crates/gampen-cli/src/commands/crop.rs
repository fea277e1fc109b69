//! `gampen crop`: the spatial transformer's crops of cutouts, as FITS and a PNG grid.

use std::path::PathBuf;

use gampen::checkpoint;
use gampen_data::fits::HeaderCard;
use gampen_data::{write_fits, Image};
use gampen_plot::{crop_box_from_theta, crop_grid, Image2d};

use crate::commands::predict::find_dataset_json;
use crate::device::DeviceArg;
use crate::error::{create_dir, read_json, CliError, Result};
use crate::paths::{check_io, write_via_temp, DirOutput};
use crate::progress;
use gampen_data::{catalog_path, CatalogStream, Preparation};

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
    if args.batch_size == 0 {
        return Err(CliError::usage("--batch-size must be at least 1"));
    }
    let catalog = catalog_path(&args.data, args.split.as_deref())?;
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
    let (model, _) = checkpoint::load(&args.model, &device)?;
    let dataset = match find_dataset_json(&args.model) {
        Some(p) => Some(read_json(&p)?),
        None => None,
    };
    let cfg = model.config().clone();
    let (s, c) = (cfg.cutout_size, cfg.channels);
    let prep = Preparation::for_model(&args.data, dataset.as_ref(), s, c);
    let out_cutouts = out.path().join("cutouts");
    create_dir(&out_cutouts)?;

    let mut stream = CatalogStream::open(&catalog)?;
    let file_col = stream.file_col();
    let info = out.path().join("info.csv");
    let mut writer = csv::Writer::from_path(&info).map_err(|e| CliError::csv(&info, e))?;
    writer
        .write_record(stream.headers())
        .map_err(|e| CliError::csv(&info, e))?;

    let bar = progress::spinner("crop");
    let (mut inputs, mut boxes, mut crops) = (Vec::new(), Vec::new(), Vec::new());
    let mut done = 0usize;
    let mut chunk: Vec<Vec<String>> = Vec::new();
    loop {
        let next = stream.next_row()?;
        let end = next.is_none();
        if let Some((_, fields)) = next {
            chunk.push(fields);
        }
        if chunk.len() == args.batch_size || (end && !chunk.is_empty()) {
            let names: Vec<&str> = chunk.iter().map(|f| f[file_col].as_str()).collect();
            let images = prep.batch(&names, &device)?;
            let theta = to_vec(model.theta(images.clone()))?;
            let cropped = to_vec(model.transform(images.clone()))?;
            let input = to_vec(images)?;
            let per = c * s * s;
            for (k, fields) in chunk.iter().enumerate() {
                let name = &fields[file_col];
                let data = cropped[k * per..(k + 1) * per].to_vec();
                let path = out_cutouts.join(name);
                if let Some(parent) = path.parent() {
                    create_dir(parent)?;
                }
                let t: [f32; 6] = theta[k * 6..(k + 1) * 6].try_into().expect("6 values");
                let cards = [
                    HeaderCard::text("OBJECT", name, "gampen crop: STN output"),
                    HeaderCard::real("STN_A", t[0] as f64, "theta[0,0]"),
                    HeaderCard::real("STN_B", t[1] as f64, "theta[0,1]"),
                    HeaderCard::real("STN_TX", t[2] as f64, "theta[0,2]"),
                    HeaderCard::real("STN_C", t[3] as f64, "theta[1,0]"),
                    HeaderCard::real("STN_D", t[4] as f64, "theta[1,1]"),
                    HeaderCard::real("STN_TY", t[5] as f64, "theta[1,2]"),
                ];
                write_fits(&path, &Image::new(data, c, s, s), &cards)?;
                writer
                    .write_record(fields)
                    .map_err(|e| CliError::csv(&info, e))?;
                if inputs.len() < args.grid_count {
                    let band = |v: &[f32]| Image2d {
                        width: s,
                        height: s,
                        data: v[k * per..k * per + s * s].to_vec(),
                    };
                    inputs.push(band(&input));
                    crops.push(band(&cropped));
                    boxes.push(crop_box_from_theta(t, s, s));
                }
            }
            done += chunk.len();
            bar.set_position(done as u64);
            chunk.clear();
        }
        if end {
            break;
        }
    }
    bar.finish_and_clear();
    writer.flush().map_err(|e| CliError::io(&info, e))?;
    drop(writer);
    out.commit()?;
    if let Some(grid) = &args.grid {
        if !inputs.is_empty() {
            write_via_temp(grid, |tmp| Ok(crop_grid(tmp, &inputs, &boxes, &crops, 4)?))?;
        }
    }
    Ok(done)
}

/// Tensor values as `f32`, row-major.
pub fn to_vec<const D: usize>(t: burn::tensor::Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| CliError::usage(format!("cannot read tensor data: {e:?}")))
}
