//! Times the workloads of `tools/bench_torch.py` on one Burn device and prints one JSON line
//! per workload, `{workload, backend, batch, size, ms, items_per_s}`, for a side-by-side
//! comparison with PyTorch (see `docs/performance.md`).
//!
//! ```text
//! cargo build --workspace --examples          # dev profile: dependencies built as for release
//! target/debug/examples/bench_report flex                 # the CPU set
//! target/debug/examples/bench_report wgpu --set gpu       # the GPU set
//! target/debug/examples/bench_report flex --workloads vgg16_forward:16:96,posterior_gampen_small:16:64
//! target/debug/examples/bench_report flex stream 1000     # posterior over 1000 galaxies
//! ```
//!
//! Every timing is the median of `--reps` runs after `--warmup` runs; each run ends by
//! reading a scalar back (or `Device::sync`), so queued GPU work is included.
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
use gampen::posterior::Identity;
use gampen::{GampenConfig, PosteriorOptions};
use gampen_backbone::{VggConfig, VggVariant};

/// Monte-Carlo passes per galaxy and draws per pass, as in the torch script.
const PASSES: usize = 100;
const SAMPLES_PER_PASS: usize = 10;

const USAGE: &str = "usage: bench_report <flex|ndarray|wgpu> [--set cpu|gpu] [--workloads name:batch:size,...] [--reps N] [--warmup N]
       bench_report <flex|ndarray|wgpu> stream <galaxies> [--model small|original] [--batch B] [--passes T] [--size S]
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

/// The CPU set (a few minutes on two cores) and the GPU set (the published sizes).
fn case_set(name: &str) -> Result<Vec<Case>, String> {
    Ok(match name {
        "cpu" => vec![
            Case::new("vgg16_forward", 16, 64),
            Case::new("vgg16_forward", 16, 96),
            Case::new("train_step_gampen_small", 16, 64),
            Case::new("train_step_gampen_original", 16, 64),
            Case::new("posterior_gampen_small", 16, 64),
        ],
        "gpu" => vec![
            Case::new("vgg16_forward", 16, 96),
            Case::new("vgg16_forward", 64, 96),
            Case::new("vgg16_forward", 16, 143),
            Case::new("vgg16_forward", 64, 143),
            Case::new("train_step_gampen_small", 16, 64),
            Case::new("train_step_gampen_original", 16, 96),
            Case::new("posterior_gampen_small", 16, 64),
            Case::new("posterior_gampen_original", 16, 96),
        ],
        other => return Err(format!("unknown set {other:?} (cpu, gpu)")),
    })
}

#[allow(deprecated)] // the ndarray backend is deprecated in Burn 0.22 but still compared
fn device(name: &str) -> Result<Device, String> {
    match name {
        "flex" => Ok(Device::flex()),
        "ndarray" => Ok(Device::ndarray()),
        "wgpu" => Ok(Device::wgpu(Default::default())),
        other => Err(format!("unknown device {other:?} (flex, ndarray, wgpu)")),
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

/// Median milliseconds of `reps` calls of `f` after `warmup` calls.
fn time(warmup: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut ms: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

/// Times one case; returns milliseconds per call (one call processes `batch` items).
fn run_case(case: &Case, device: &Device, warmup: usize, reps: usize) -> Result<f64, String> {
    let (b, s) = (case.batch, case.size);
    device.seed(0);
    if case.workload == "vgg16_forward" {
        let vgg = VggConfig::new(VggVariant::Vgg16, 9).init(device);
        let x = images(b, 3, s, device);
        return Ok(time(warmup, reps, || {
            std::hint::black_box(vgg.forward(x.clone()).sum().into_scalar::<f32>());
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
        let x = images(b, config.channels, s, &ad);
        let y = Tensor::<2>::random([b, 3], Distribution::Normal(0.0, 1.0), &ad);
        return Ok(time(warmup, reps, || {
            let m = model.take().expect("model is put back every step");
            let loss = loss_fn
                .forward(m.forward(x.clone()), y.clone())
                .expect("loss");
            std::hint::black_box(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            model = Some(optim.step(0.005, m, grads));
            ad.sync().expect("sync");
        }));
    }
    if let Some(model) = case.workload.strip_prefix("posterior_") {
        let config = preset(model, s)?;
        let model = config.init(device).map_err(|e| e.to_string())?;
        let x = images(b, config.channels, s, device);
        let options = PosteriorOptions::new()
            .with_passes(PASSES)
            .with_samples_per_pass(SAMPLES_PER_PASS);
        // Network passes, Gaussian draws and the copy to the host; the summaries (quantiles,
        // KDE mode) are CPU work independent of the backend and not in the torch script.
        return Ok(time(warmup, reps, || {
            std::hint::black_box(
                model
                    .posterior_samples(x.clone(), &options)
                    .expect("posterior"),
            );
        }));
    }
    Err(format!("unknown workload {:?}", case.workload))
}

fn print_line(workload: &str, backend: &str, batch: usize, size: usize, ms: f64, items: usize) {
    let line = serde_json::json!({
        "workload": workload,
        "backend": backend,
        "batch": batch,
        "size": size,
        "ms": (ms * 1000.0).round() / 1000.0,
        "items_per_s": (items as f64 / (ms / 1e3) * 100.0).round() / 100.0,
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
        .with_samples_per_pass(SAMPLES_PER_PASS);
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
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
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
    let gpu = backend == "wgpu";
    let warmup = args.warmup.unwrap_or(if gpu { 3 } else { 1 });
    let reps = args.reps.unwrap_or(if gpu { 10 } else { 3 });
    for case in &cases {
        let ms = run_case(case, &device, warmup, reps)?;
        print_line(
            &case.workload,
            &backend,
            case.batch,
            case.size,
            ms,
            case.batch,
        );
    }
    Ok(())
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&argv) {
        eprintln!("bench_report: {e}\n{USAGE}");
        std::process::exit(2);
    }
}
