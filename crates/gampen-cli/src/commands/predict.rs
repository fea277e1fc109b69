//! `gampen predict`: Monte-Carlo-dropout posteriors for every galaxy of a catalog, streamed
//! batch by batch into a CSV file.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use gampen::calibration::CalibrationScale;
use gampen::checkpoint;
use gampen::posterior::catalogue::GampenCatalogue;
use gampen::posterior::{Identity, IntervalMethod, LabelInverse};
use gampen::{GalaxyPosterior, Gampen, PosteriorOptions};
use gampen_data::{DatasetOptions, LabelTransform};

use crate::device::DeviceArg;
use crate::error::{read_json, CliError, Result};
use crate::paths::{check_io, OutFile};
use crate::progress;
use gampen::posterior::columns::{cell, gampen_cells, summary_headers, summary_values, Columns};
use gampen_data::prepare::DATASET_JSON;
use gampen_data::{catalog_path, CatalogStream, Preparation, Shard};

/// Options of `gampen predict`.
///
/// Output: one row per galaxy, the catalog's own columns first (file_name, object_id, ...),
/// then the summaries of each parameter in original units. `--columns default`:
/// `preds_{name}_{mean,median,mode,std,lo68,hi68,lo95,hi95,lo99,hi99,skew,kurtosis}` (lo/hi:
/// the 68.27, 95.45, 99.73 % intervals; kurtosis is excess). `--columns gampen`: GaMPEN's
/// catalogue layout, `preds_{name}_{mean,median,std,skew,kurtosis,mode,sig_ci,twosig_ci,threesig_ci}`
/// with `(low, high)` pairs in the `*_ci` columns, GaMPEN's names (bt, R_e_asec,
/// total_flux_adus) for its published targets and a derived total_mag. Use
/// `--intervals gampen` as well to get GaMPEN's KDE mode and mode-centred intervals.
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
    #[arg(long, default_value_t = 100, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub passes: usize,
    /// Draws from each pass's predicted normal.
    #[arg(long, default_value_t = 10, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
    pub samples_per_pass: usize,
    /// Galaxies per batch (memory ~ batch size; at most 256 galaxy-passes go through the
    /// network at once).
    #[arg(long, default_value_t = 64, value_parser = crate::flags::positive_usize, allow_negative_numbers = true)]
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
    /// Interval definition: `equal-tailed` (quantiles; binned-KDE mode) or `gampen` (GaMPEN's
    /// aggregator: KDE mode on a 1000-point grid, windows grown around it until their KDE
    /// mass is nearest 68.27/95.45/99.73 %, std over N; costs about 1000 x draws per
    /// parameter and galaxy).
    #[arg(long, default_value_t = IntervalMethod::EqualTailed)]
    pub intervals: IntervalMethod,
    /// Column layout: `default` (lo68/hi68/... numeric columns) or `gampen` (GaMPEN's
    /// catalogue columns: *_sig_ci, *_twosig_ci, *_threesig_ci pairs, bt/R_e_asec/
    /// total_flux_adus names and total_mag for its published targets).
    #[arg(long, value_enum, default_value_t = Columns::Default)]
    pub columns: Columns,
    /// Monte-Carlo dropout rate to sample with, in [0, 1), instead of the checkpoint's
    /// (config.json `dropout`). This changes the posterior: the epistemic spread grows with
    /// the rate, and a rate far from the training rate also shifts the network's outputs.
    #[arg(long, value_parser = crate::flags::probability, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
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
    if let Some(p) = args.dropout.filter(|p| !(0.0..1.0).contains(p)) {
        return Err(CliError::usage(format!(
            "--dropout must lie in [0, 1), got {p}"
        )));
    }
    let catalog = catalog_path(&args.data, args.split.as_deref())?;
    check_outputs(args)?;
    let device = args.device.device()?;
    let (mut model, labels) = checkpoint::load(&args.model, &device)?;
    if let Some(p) = args.dropout {
        model.set_dropout(p);
    }
    let params = model.config().parameters.clone();
    let inverse: &dyn LabelInverse = match &labels {
        Some(l) => l,
        None => {
            eprintln!("warning: the checkpoint has no labels.json; predictions are in the network's units");
            &Identity
        }
    };
    let calibration = read_calibration(args, &params)?;
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
    let layout = Layout::new(args, &params, labels.as_ref());
    let mut writer = OutFile::csv(&args.out)?;
    let mut header: Vec<String> = stream.headers().to_vec();
    header.extend(layout.headers(&params));
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
                .with_keep_samples(samples.is_some() || layout.needs_samples())
                .with_interval_method(args.intervals)
                .with_seed(Some(
                    args.seed ^ (chunk[0].0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                ));
            let posteriors = model.predict_posterior(images, &options, inverse)?;
            if written == 0 {
                // After the first batch, so that a run that fails on its inputs prints only
                // its error line.
                bar.suspend(|| report_dropout(&model, args.dropout.is_some()));
            }
            for ((_, fields), mut post) in chunk.drain(..).zip(posteriors) {
                if let Some(c) = &calibration {
                    c.apply(&mut post);
                }
                let mut record = fields;
                record.extend(layout.cells(&post)?);
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
    // The samples go into place first: a predictions file under its final name then
    // always has its samples beside it.
    if let Some(s) = samples {
        s.finish()?;
    }
    OutFile::commit_csv(writer, &args.out)?;
    Ok(written)
}

/// Refuses outputs that are, or lie inside, an input (by any spelling), and an output
/// written twice.
fn check_outputs(args: &Args) -> Result<()> {
    let mut inputs = vec![("--model", args.model.as_path()), ("--data", &args.data)];
    if let Some(c) = &args.calibration {
        inputs.push(("--calibration", c));
    }
    let mut outputs = vec![("--out", args.out.as_path())];
    if let Some(s) = &args.samples_out {
        outputs.push(("--samples-out", s));
    }
    check_io(&inputs, &outputs)
}

/// The one stderr line that says which dropout rate the posterior is sampled with.
fn report_dropout(model: &Gampen, overridden: bool) {
    let from = if overridden {
        "--dropout"
    } else {
        "the checkpoint's config.json"
    };
    eprintln!(
        "sampling with Monte-Carlo dropout rate {} (from {from})",
        model.config().dropout
    );
}

/// The calibration of `--calibration`, checked against the model's parameters.
fn read_calibration(args: &Args, params: &[String]) -> Result<Option<CalibrationScale>> {
    let Some(p) = &args.calibration else {
        return Ok(None);
    };
    let c: CalibrationScale = read_json(p)?;
    if c.parameters != params || c.scales.len() != params.len() {
        return Err(CliError::usage(format!(
            "{}: calibration is for {:?} but the model predicts {:?}",
            p.display(),
            c.parameters,
            params
        )));
    }
    Ok(Some(c))
}

/// How a posterior becomes the summary cells of a row.
enum Layout {
    /// [`gampen::posterior::columns::STATS`] per parameter.
    Default,
    /// GaMPEN's catalogue layout, with the interval method for derived quantities.
    Gampen(GampenCatalogue, IntervalMethod),
}

impl Layout {
    fn new(args: &Args, params: &[String], labels: Option<&LabelTransform>) -> Self {
        match args.columns {
            Columns::Default => Self::Default,
            Columns::Gampen => Self::Gampen(GampenCatalogue::new(params, labels), args.intervals),
        }
    }

    fn headers(&self, params: &[String]) -> Vec<String> {
        match self {
            Self::Default => summary_headers(params),
            Self::Gampen(c, _) => c.headers(),
        }
    }

    fn needs_samples(&self) -> bool {
        matches!(self, Self::Gampen(c, _) if c.needs_samples())
    }

    fn cells(&self, post: &GalaxyPosterior) -> Result<Vec<String>> {
        Ok(match self {
            Self::Default => post
                .marginals
                .iter()
                .flat_map(|m| summary_values(m).map(cell))
                .collect(),
            Self::Gampen(c, method) => c
                .summaries(post, *method)?
                .iter()
                .flat_map(gampen_cells)
                .collect(),
        })
    }
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
    Csv(PathBuf, Box<csv::Writer<OutFile>>),
    Json(PathBuf, BufWriter<OutFile>, Vec<String>),
}

impl SampleWriter {
    fn create(path: &Path, params: &[String]) -> Result<Self> {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            let mut w = OutFile::csv(path)?;
            let mut header = vec!["file_name".to_string(), "draw".to_string()];
            header.extend(params.iter().cloned());
            w.write_record(&header)
                .map_err(|e| CliError::csv(path, e))?;
            Ok(Self::Csv(path.to_path_buf(), Box::new(w)))
        } else {
            let f = OutFile::create(path)?;
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
            Self::Csv(path, w) => OutFile::commit_csv(*w, &path),
            Self::Json(path, w, _) => w
                .into_inner()
                .map_err(|e| CliError::io(&path, std::io::Error::other(e.error().to_string())))?
                .commit(),
        }
    }
}
