//! `gampen predict`: Monte-Carlo-dropout posteriors for every galaxy of a catalog, streamed
//! batch by batch into a CSV file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use gampen::calibration::CalibrationScale;
use gampen::checkpoint;
use gampen::posterior::{Identity, LabelInverse};
use gampen::{GalaxyPosterior, PosteriorOptions};
use gampen_data::DatasetOptions;

use crate::cutouts::{catalog_path, CatalogStream, Preparation, Shard, DATASET_JSON};
use crate::device::DeviceArg;
use crate::error::{create_dir, read_json, CliError, Result};
use crate::output::{cell, summary_headers, summary_values};
use crate::progress;

/// Options of `gampen predict`.
///
/// Output: one row per galaxy, the catalog's own columns first (file_name, object_id, ...),
/// then for each parameter `preds_{name}_{mean,median,mode,std,lo68,hi68,lo95,hi95,lo99,hi99,skew,kurtosis}`
/// in original units (lo/hi: equal-tailed 68.27, 95.45, 99.73 % intervals; kurtosis is excess).
/// Cutouts are read one batch at a time and rows are written as they are computed, so memory
/// does not grow with the catalog.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// A checkpoint directory, or a training run directory (its best checkpoint is used).
    #[arg(long)]
    pub model: PathBuf,
    /// Data directory with cutouts/ and info.csv.
    #[arg(long)]
    pub data: PathBuf,
    /// Predict the galaxies of splits/<split>.csv (e.g. balanced-dev-test) instead of info.csv.
    #[arg(long)]
    pub split: Option<String>,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// Monte-Carlo dropout passes per galaxy (GaMPEN's catalogues: 500).
    #[arg(long, default_value_t = 100)]
    pub passes: usize,
    /// Draws from each pass's predicted normal.
    #[arg(long, default_value_t = 10)]
    pub samples_per_pass: usize,
    /// Galaxies per batch (memory ~ batch size; at most 256 galaxy-passes go through the
    /// network at once).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of the dropout masks and normal draws (each batch derives its own from it).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
    /// Also write every posterior sample (original units): `.csv` gives rows
    /// file_name,draw,<params...>; anything else JSON lines {"file_name": .., "<param>": [..]}.
    #[arg(long)]
    pub samples_out: Option<PathBuf>,
    /// Process only shard K of N: data rows i (0-based) with i % N == K - 1. K is 1-based
    /// (1/4, 2/4, 3/4, 4/4); join the outputs with `gampen merge`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Rescale the intervals with a calibration fitted by `gampen evaluate --fit-calibration`.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `gampen predict`.
pub fn run(args: Args) -> Result<()> {
    let n = execute(&args)?;
    eprintln!("wrote {n} galaxies to {}", args.out.display());
    Ok(())
}

/// Predicts as `args` say and returns the number of galaxies written.
pub fn execute(args: &Args) -> Result<usize> {
    if args.batch_size == 0 || args.passes == 0 || args.samples_per_pass == 0 {
        return Err(CliError::usage(
            "--batch-size, --passes and --samples-per-pass must be at least 1",
        ));
    }
    let catalog = catalog_path(&args.data, args.split.as_deref())?;
    let device = args.device.device();
    let (model, labels) = checkpoint::load(&args.model, &device)?;
    let params = model.config().parameters.clone();
    let inverse: &dyn LabelInverse = match &labels {
        Some(l) => l,
        None => {
            eprintln!("warning: the checkpoint has no labels.json; predictions are in the network's units");
            &Identity
        }
    };
    let calibration = match &args.calibration {
        Some(p) => {
            let c: CalibrationScale = read_json(p)?;
            if c.parameters != params || c.scales.len() != params.len() {
                return Err(CliError::usage(format!(
                    "{}: calibration is for {:?} but the model predicts {:?}",
                    p.display(),
                    c.parameters,
                    params
                )));
            }
            Some(c)
        }
        None => None,
    };
    let dataset: Option<DatasetOptions> = match find_dataset_json(&args.model) {
        Some(p) => Some(read_json(&p)?),
        None => None,
    };
    let cfg = model.config();
    let prep = Preparation::for_model(&args.data, dataset.as_ref(), cfg.cutout_size, cfg.channels);
    let shard = args.shard.unwrap_or(Shard::ALL);
    let total = count_rows(&catalog)?;
    let mine = (0..total).filter(|&i| shard.contains(i)).count();

    let mut stream = CatalogStream::open(&catalog)?;
    let file_col = stream.file_col();
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    let mut writer = csv::Writer::from_path(&args.out).map_err(|e| CliError::csv(&args.out, e))?;
    let mut header: Vec<String> = stream.headers().to_vec();
    header.extend(summary_headers(&params));
    writer
        .write_record(&header)
        .map_err(|e| CliError::csv(&args.out, e))?;
    let mut samples = match &args.samples_out {
        Some(p) => Some(SampleWriter::create(p, &params)?),
        None => None,
    };

    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        progress::bar(mine as u64, "predict")
    };
    let started = Instant::now();
    let mut written = 0usize;
    let mut chunk: Vec<(usize, Vec<String>)> = Vec::with_capacity(args.batch_size);
    loop {
        let next = stream.next_row()?;
        let end = next.is_none();
        if let Some((row, fields)) = next {
            if shard.contains(row) {
                chunk.push((row, fields));
            }
        }
        if chunk.len() == args.batch_size || (end && !chunk.is_empty()) {
            let names: Vec<&str> = chunk.iter().map(|(_, f)| f[file_col].as_str()).collect();
            let images = prep.batch(&names, &device)?;
            let options = PosteriorOptions::new()
                .with_passes(args.passes)
                .with_samples_per_pass(args.samples_per_pass)
                .with_keep_samples(samples.is_some())
                .with_seed(Some(
                    args.seed ^ (chunk[0].0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                ));
            let posteriors = model.predict_posterior(images, &options, inverse)?;
            for ((_, fields), mut post) in chunk.drain(..).zip(posteriors) {
                if let Some(c) = &calibration {
                    c.apply(&mut post);
                }
                let mut record = fields;
                for m in &post.marginals {
                    record.extend(summary_values(m).iter().map(|&v| cell(v)));
                }
                writer
                    .write_record(&record)
                    .map_err(|e| CliError::csv(&args.out, e))?;
                if let Some(s) = samples.as_mut() {
                    s.write(&record[file_col], &post)?;
                }
                written += 1;
            }
            writer.flush().map_err(|e| CliError::io(&args.out, e))?;
            bar.set_position(written as u64);
            bar.set_message(format!(
                "{:.1} galaxies/s",
                written as f64 / started.elapsed().as_secs_f64().max(1e-9)
            ));
        }
        if end {
            break;
        }
    }
    bar.finish_and_clear();
    if let Some(s) = samples {
        s.finish()?;
    }
    Ok(written)
}

/// The `dataset.json` a training run wrote, looked up in the model path and up to three
/// directories above it (a checkpoint lies at `RUN/checkpoints/epoch-NNNN`).
pub fn find_dataset_json(model: &Path) -> Option<PathBuf> {
    model
        .ancestors()
        .take(4)
        .map(|d| d.join(DATASET_JSON))
        .find(|p| p.is_file())
}

fn count_rows(path: &Path) -> Result<usize> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| CliError::csv(path, e))?;
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| CliError::csv(path, e))?
    {
        n += 1;
    }
    Ok(n)
}

/// Writes posterior samples as CSV rows or JSON lines.
enum SampleWriter {
    Csv(PathBuf, Box<csv::Writer<File>>),
    Json(PathBuf, BufWriter<File>, Vec<String>),
}

impl SampleWriter {
    fn create(path: &Path, params: &[String]) -> Result<Self> {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            let mut w = csv::Writer::from_path(path).map_err(|e| CliError::csv(path, e))?;
            let mut header = vec!["file_name".to_string(), "draw".to_string()];
            header.extend(params.iter().cloned());
            w.write_record(&header)
                .map_err(|e| CliError::csv(path, e))?;
            Ok(Self::Csv(path.to_path_buf(), Box::new(w)))
        } else {
            let f = File::create(path).map_err(|e| CliError::io(path, e))?;
            Ok(Self::Json(
                path.to_path_buf(),
                BufWriter::new(f),
                params.to_vec(),
            ))
        }
    }

    fn write(&mut self, file_name: &str, post: &GalaxyPosterior) -> Result<()> {
        let samples = post.samples.as_ref().expect("samples kept");
        match self {
            Self::Csv(path, w) => {
                let draws = samples.first().map_or(0, Vec::len);
                for d in 0..draws {
                    let mut rec = vec![file_name.to_string(), d.to_string()];
                    rec.extend(samples.iter().map(|s| cell(s[d])));
                    w.write_record(&rec).map_err(|e| CliError::csv(path, e))?;
                }
            }
            Self::Json(path, w, params) => {
                let mut obj = serde_json::Map::new();
                obj.insert("file_name".into(), file_name.into());
                for (p, s) in params.iter().zip(samples) {
                    obj.insert(p.clone(), serde_json::json!(s));
                }
                let line = serde_json::Value::Object(obj).to_string();
                writeln!(w, "{line}").map_err(|e| CliError::io(path, e))?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Self::Csv(path, mut w) => w.flush().map_err(|e| CliError::io(&path, e)),
            Self::Json(path, mut w, _) => w.flush().map_err(|e| CliError::io(&path, e)),
        }
    }
}
