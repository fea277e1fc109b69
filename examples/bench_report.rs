//! Times the workloads of `tools/bench_torch.py` on one Burn device and prints one JSON line
//! per workload, `{workload, backend, batch, size, ms, items_per_s}`, for a side-by-side
//! comparison with PyTorch (see `docs/performance.md`).
//!
//! ```text
//! cargo build --workspace --examples          # dev profile: dependencies built as for release
//! target/debug/examples/bench_report flex                 # the CPU set
//! target/debug/examples/bench_report wgpu --set gpu       # the GPU set
//! target/debug/examples/bench_report vulkan --set gpu --precision bf16
//! target/debug/examples/bench_report flex --workloads vgg16_forward:16:96,posterior_gampen_small:16:64
//! target/debug/examples/bench_report flex stream 1000     # posterior over 1000 galaxies
//! ```
//!
//! Every timing is the median of `--reps` runs after `--warmup` runs; each run ends by
//! reading a scalar back (or `Device::sync`), so queued GPU work is included. After
//! `--budget-s` seconds (default 20) on one case no further run starts, so a slow row cannot
//! hold up the table (one warm-up and one timed run always happen).
//! `--precision f16|bf16` runs the network in half precision (`gampen::Precision`: f32
//! master weights in the train step, f32 likelihood); `--max-rows` sets the galaxy-passes per
//! network call of the posterior (default `gampen::posterior::default_max_rows`).
//! `stream N` runs Monte-Carlo posterior inference over `N` galaxies in batches, keeping only
//! the summaries, and reports the peak resident memory (`VmHWM`), which should not grow with N.
//!
//! Input is argv only (and, for wgpu, the usual `WGPU_BACKEND` / `CUBECL_WGPU_DEFAULT_DEVICE`
//! environment variables): the binary runs standalone on a machine without cargo.
use std::time::Instant;

use burn::module::Module;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Tensor};
use gampen::posterior::{default_max_rows, Identity};
use gampen::precision::to_f32;
use gampen::precision::LossScaler;
use gampen::{GampenConfig, PosteriorOptions, Precision};
use gampen_backbone::{VggConfig, VggVariant};

/// Monte-Carlo passes per galaxy and draws per pass, as in the torch script.
const PASSES: usize = 100;
const SAMPLES_PER_PASS: usize = 10;

const USAGE: &str = "usage: bench_report <flex|ndarray|wgpu|vulkan> [--set cpu|gpu] [--workloads name:batch:size,...] [--reps N] [--warmup N]
                    [--precision f32|f16|bf16] [--max-rows R] [--budget-s S]
       bench_report <flex|ndarray|wgpu|vulkan> stream <galaxies> [--model small|original] [--batch B] [--passes T] [--size S]
workloads: vgg16_forward, train_step_gampen_small, train_step_gampen_original,
           posterior_gampen_small, posterior_gampen_original (T = 100 passes, 10 draws each)";

/// One workload at one batch and cutout size.
#[derive(Clone, Debug)]
struct Case {
    workload: String,
    batch: usize,
    size: usize,
}

impl Case {
    fn new(workload: &str, batch: usize, size: usize) -> Self {
        Self {
            workload: workload.into(),
            batch,
            size,
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [w, b, s] = parts[..] else {
            return Err(format!("workload {s:?} is not name:batch:size"));
        };
        let num = |v: &str| {
            v.parse::<usize>()
                .map_err(|e| format!("{v:?} in {s:?}: {e}"))
        };
        Ok(Self::new(w, num(b)?, num(s)?))
    }
}

/// The CPU set (a few minutes on two cores) and the GPU set (the published network at two of
/// its sizes, two batch sizes).
fn case_set(name: &str) -> Result<Vec<Case>, String> {
    Ok(match name {
        "cpu" => vec![
            Case::new("vgg16_forward", 16, 64),
            Case::new("vgg16_forward", 16, 96),
            Case::new("train_step_gampen_small", 16, 64),
            Case::new("train_step_gampen_original", 16, 64),
            Case::new("posterior_gampen_small", 16, 64),
        ],
        // The issue's target rows first: a sweep cut short by its time limit loses the rest.
        "gpu" => [
            "train_step_gampen_original",
            "posterior_gampen_original",
            "vgg16_forward",
        ]
        .iter()
        .flat_map(|w| [96, 143].map(|size| [16, 64].map(|b| Case::new(w, b, size))))
        .flatten()
        .collect(),
        other => return Err(format!("unknown set {other:?} (cpu, gpu)")),
    })
}

#[allow(deprecated)] // the ndarray backend is deprecated in Burn 0.22 but still compared
fn device(name: &str) -> Result<Device, String> {
    match name {
        "flex" => Ok(Device::flex()),
        "ndarray" => Ok(Device::ndarray()),
        "wgpu" => Ok(Device::wgpu(Default::default())),
        #[cfg(feature = "vulkan")]
        "vulkan" => Ok(Device::vulkan(Default::default())),
        #[cfg(not(feature = "vulkan"))]
        "vulkan" => Err("this bench_report was built without the `vulkan` feature \
             (cargo build --workspace --examples --features gampen/vulkan)"
            .into()),
        other => Err(format!(
            "unknown device {other:?} (flex, ndarray, wgpu, vulkan)"
        )),
    }
}

fn labels() -> Vec<String> {
    vec!["bt".into(), "r_e".into(), "flux".into()]
}

/// The preset named by a workload suffix, at `size` pixels (gampen_small is 64 only).
fn preset(name: &str, size: usize) -> Result<GampenConfig, String> {
    match name {
        "gampen_small" if size == 64 => Ok(GampenConfig::gampen_small(labels())),
        "gampen_small" => Err("gampen_small is built for 64x64 cutouts".into()),
        "gampen_original" => Ok(GampenConfig::gampen_original(size, labels())),
        other => Err(format!(
            "unknown model {other:?} (gampen_small, gampen_original)"
        )),
    }
}

fn images(batch: usize, channels: usize, size: usize, device: &Device) -> Tensor<4> {
    Tensor::<4>::random([batch, channels, size, size], Distribution::Default, device)
}

/// How cases run: timing and the network's precision.
struct Timing {
    warmup: usize,
    reps: usize,
    budget_s: f64,
    precision: Precision,
    max_rows: Option<usize>,
}

impl Timing {
    /// Median milliseconds of up to `reps` calls of `f` after up to `warmup` calls; no call
    /// starts once `budget_s` has passed (the first of each kind always runs).
    fn time(&self, mut f: impl FnMut()) -> f64 {
        let start = Instant::now();
        let over = || start.elapsed().as_secs_f64() > self.budget_s;
        for i in 0..self.warmup.max(1) {
            if i > 0 && over() {
                break;
            }
            f();
        }
        let mut ms = Vec::new();
        for i in 0..self.reps.max(1) {
            if i > 0 && over() {
                break;
            }
            let t = Instant::now();
            f();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        ms[ms.len() / 2]
    }
}

/// Times one case; returns milliseconds per call (one call processes `batch` items).
fn run_case(case: &Case, device: &Device, timing: &Timing) -> Result<f64, String> {
    let (b, s) = (case.batch, case.size);
    let p = timing.precision;
    p.check(device).map_err(|e| e.to_string())?;
    device.seed(0);
    if case.workload == "vgg16_forward" {
        let vgg = p.cast_module(VggConfig::new(VggVariant::Vgg16, 9).init(device));
        let x = p.cast(images(b, 3, s, device));
        return Ok(timing.time(|| {
            std::hint::black_box(to_f32(vgg.forward(x.clone())).sum().into_scalar::<f32>());
        }));
    }
    if let Some(model) = case.workload.strip_prefix("train_step_") {
        let config = preset(model, s)?;
        let ad = device.clone().autodiff();
        let mut model = Some(config.init(&ad).map_err(|e| e.to_string())?.train());
        let loss_fn = model.as_ref().expect("model").loss();
        // GaMPEN's optimiser: SGD, momentum 0.9, no dampening, lr 0.005.
        let momentum = MomentumConfig::new().with_momentum(0.9).with_dampening(0.0);
        let mut optim = SgdConfig::new().with_momentum(Some(momentum)).init();
        let x = p.cast(images(b, config.channels, s, &ad));
        let y = Tensor::<2>::random([b, 3], Distribution::Normal(0.0, 1.0), &ad);
        // The trainer's mixed-precision step: a scaled cast of the f32 weights runs the
        // network, and an f16 step whose gradients overflowed is skipped.
        let mut scaler = LossScaler::new(p);
        // As the trainer does: the step runs on a thread of the CPU backends' pool.
        return Ok(timing.time(|| {
            gampen::workers::on_cpu_pool(|| {
                let m = model.take().expect("model is put back every step");
                let out = to_f32(scaler.cast(m.clone()).forward(x.clone()));
                let loss = loss_fn.forward(out, y.clone()).expect("loss");
                std::hint::black_box(loss.clone().into_scalar::<f32>());
                let scaled = loss.mul_scalar(scaler.scale());
                let grads = GradientsParams::from_grads(scaled.backward(), &m);
                model = Some(if scaler.update(&grads, &m) {
                    optim.step(0.005, m, grads)
                } else {
                    m
                });
                ad.sync().expect("sync");
            })
        }));
    }
    if let Some(model) = case.workload.strip_prefix("posterior_") {
        let config = preset(model, s)?;
        let model = config.init(device).map_err(|e| e.to_string())?;
        let x = images(b, config.channels, s, device);
        let options = PosteriorOptions::new()
            .with_passes(PASSES)
            .with_samples_per_pass(SAMPLES_PER_PASS)
            .with_precision(p)
            .with_max_rows(timing.max_rows.unwrap_or_else(|| default_max_rows(device)));
        // Network passes, Gaussian draws and the copy to the host; the summaries (quantiles,
        // KDE mode) are CPU work independent of the backend and not in the torch script.
        return Ok(timing.time(|| {
            std::hint::black_box(
                model
                    .posterior_samples(x.clone(), &options)
                    .expect("posterior"),
            );
        }));
    }
    Err(format!("unknown workload {:?}", case.workload))
}

fn print_line(case: &Case, backend: &str, precision: Precision, ms: f64) {
    let (workload, batch, size, items) = (&case.workload, case.batch, case.size, case.batch);
    let line = serde_json::json!({
        "workload": workload,
        "backend": backend,
        "precision": precision.to_string(),
        "batch": batch,
        "size": size,
        "ms": (ms * 1000.0).round() / 1000.0,
        "items_per_s": (items as f64 / (ms / 1e3) * 100.0).round() / 100.0,
    });
    println!("{line}");
}

fn print_error(case: &Case, backend: &str, precision: Precision, error: &str) {
    let line = serde_json::json!({
        "workload": case.workload,
        "backend": backend,
        "precision": precision.to_string(),
        "batch": case.batch,
        "size": case.size,
        "error": error,
    });
    println!("{line}");
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Posterior summaries for `galaxies` random cutouts, `batch` at a time; only the summaries
/// are kept, as a catalogue-scale run would.
fn stream(backend: &str, device: &Device, galaxies: usize, args: &Args) -> Result<(), String> {
    let default_size = if args.model == "original" { 96 } else { 64 };
    let size = args.size.unwrap_or(default_size);
    let config = preset(&format!("gampen_{}", args.model), size)?;
    let model = config.init(device).map_err(|e| e.to_string())?;
    let options = PosteriorOptions::new()
        .with_passes(args.passes)
        .with_samples_per_pass(SAMPLES_PER_PASS)
        .with_precision(args.precision)
        .with_max_rows(args.max_rows.unwrap_or_else(|| default_max_rows(device)));
    let started = Instant::now();
    let mut kept = Vec::with_capacity(galaxies);
    let mut rss_after_first = None;
    let mut done = 0;
    while done < galaxies {
        let b = args.batch.min(galaxies - done);
        let x = images(b, config.channels, config.cutout_size, device);
        let posteriors = model
            .predict_posterior(x, &options, &Identity)
            .map_err(|e| e.to_string())?;
        kept.extend(posteriors.into_iter().map(|p| p.marginals[0].median));
        done += b;
        rss_after_first = rss_after_first.or_else(peak_rss_mib);
    }
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let line = serde_json::json!({
        "workload": format!("posterior_stream_gampen_{}_t{}", args.model, args.passes),
        "backend": backend,
        "batch": args.batch,
        "size": config.cutout_size,
        "galaxies": kept.len(),
        "ms": ms.round(),
        "items_per_s": (galaxies as f64 / (ms / 1e3) * 100.0).round() / 100.0,
        "peak_rss_mib_after_first_batch": rss_after_first,
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{line}");
    Ok(())
}

struct Args {
    set: String,
    workloads: Option<Vec<Case>>,
    reps: Option<usize>,
    warmup: Option<usize>,
    stream: Option<usize>,
    model: String,
    batch: usize,
    passes: usize,
    size: Option<usize>,
    precision: Precision,
    max_rows: Option<usize>,
    budget_s: f64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        set: "cpu".into(),
        workloads: None,
        reps: None,
        warmup: None,
        stream: None,
        model: "small".into(),
        batch: 16,
        passes: PASSES,
        size: None,
        precision: Precision::F32,
        max_rows: None,
        budget_s: 20.0,
    };
    let mut it = args.iter();
    let num = |v: Option<&String>, flag: &str| -> Result<usize, String> {
        v.ok_or(format!("{flag} needs a value"))?
            .parse()
            .map_err(|e| format!("{flag}: {e}"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--set" => out.set = it.next().ok_or("--set needs a value")?.clone(),
            "--workloads" => {
                let list = it.next().ok_or("--workloads needs a value")?;
                out.workloads = Some(list.split(',').map(Case::parse).collect::<Result<_, _>>()?);
            }
            "--reps" => out.reps = Some(num(it.next(), "--reps")?),
            "--warmup" => out.warmup = Some(num(it.next(), "--warmup")?),
            "stream" => out.stream = Some(num(it.next(), "stream")?),
            "--model" => out.model = it.next().ok_or("--model needs a value")?.clone(),
            "--batch" => out.batch = num(it.next(), "--batch")?,
            "--passes" => out.passes = num(it.next(), "--passes")?,
            "--size" => out.size = Some(num(it.next(), "--size")?),
            "--max-rows" => out.max_rows = Some(num(it.next(), "--max-rows")?),
            "--precision" => out.precision = precision(it.next())?,
            "--budget-s" => {
                let v = it.next().ok_or("--budget-s needs a value")?;
                out.budget_s = v.parse().map_err(|e| format!("--budget-s: {e}"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

fn precision(value: Option<&String>) -> Result<Precision, String> {
    match value.map(String::as_str) {
        Some("f32") => Ok(Precision::F32),
        Some("f16") => Ok(Precision::F16),
        Some("bf16") => Ok(Precision::Bf16),
        other => Err(format!("--precision {other:?}: expected f32, f16 or bf16")),
    }
}

fn run(argv: &[String]) -> Result<(), String> {
    let backend = argv.first().ok_or("missing device")?.clone();
    let device = device(&backend)?;
    let args = parse(&argv[1..])?;
    if let Some(galaxies) = args.stream {
        return stream(&backend, &device, galaxies, &args);
    }
    let cases = match &args.workloads {
        Some(cases) => cases.clone(),
        None => case_set(&args.set)?,
    };
    // GPU autotuning happens in the first calls: warm up longer there.
    let gpu = backend == "wgpu" || backend == "vulkan";
    let timing = Timing {
        warmup: args.warmup.unwrap_or(if gpu { 3 } else { 1 }),
        reps: args.reps.unwrap_or(if gpu { 10 } else { 3 }),
        budget_s: args.budget_s,
        precision: args.precision,
        max_rows: args.max_rows,
    };
    for case in &cases {
        // A row the device cannot run (say bf16 on WGSL) is reported, and the rest still run.
        match run_case(case, &device, &timing) {
            Ok(ms) => print_line(case, &backend, timing.precision, ms),
            Err(e) => print_error(case, &backend, timing.precision, &e),
        }
    }
    Ok(())
}

fn main() {
    gampen::allocator::retain_freed_memory();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&argv) {
        eprintln!("bench_report: {e}\n{USAGE}");
        std::process::exit(2);
    }
}
