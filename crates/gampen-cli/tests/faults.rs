//! Faults and output paths (docs/safety.md): commands killed part-way leave either the
//! previous complete output or none under the final name, a failing command leaves a
//! previous output untouched, and an output that names an input by another spelling is
//! refused before anything is written. Every case checks that no input file changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::*;

fn gampen_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gampen"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the gampen binary runs")
}

/// Asserts a failure with exactly one `error:` line mentioning every `needles`, run in `dir`.
fn refused_in(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let out = gampen_in(dir, args);
    assert!(!out.status.success(), "gampen {args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "gampen {args:?}: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for n in needles {
        assert!(
            lines[0].contains(n),
            "gampen {args:?}: {n:?} not in {stderr}"
        );
    }
    stderr
}

/// Every file under `root` (relative path -> bytes); symlinks are recorded by target.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, target.to_string_lossy().as_bytes().to_vec());
            } else if kind.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A 64-bit FNV-1a hash, for messages about which file changed.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.contains(".tmp-"))
}

/// Asserts that every file of `before` is still under `root` with the same bytes and that
/// nothing was added (but hidden temporaries, where a killed process may leave them).
fn assert_same(before: &BTreeMap<PathBuf, Vec<u8>>, root: &Path, what: &str, killed: bool) {
    let after = snapshot(root);
    for (path, bytes) in before {
        let now = after.get(path).map(|b| hash(b));
        assert_eq!(
            now,
            Some(hash(bytes)),
            "{what}: {} changed or vanished",
            path.display()
        );
    }
    let added: Vec<_> = after
        .keys()
        .filter(|k| !(before.contains_key(*k) || (killed && is_temporary(k))))
        .collect();
    assert!(added.is_empty(), "{what}: new files {added:?}");
}

fn assert_unchanged(before: &BTreeMap<PathBuf, Vec<u8>>, root: &Path, what: &str) {
    assert_same(before, root, what, false);
}

/// A small deterministic generator for kill delays (fixed seed: reproducible runs).
struct Lcg(u64);

impl Lcg {
    fn next_fraction(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Starts `gampen args`, kills it (SIGKILL) after `delay` unless it ended; true if killed.
/// With `writing`, the delay starts once the child's temporary for that output exists, so
/// that the kill lands while the output is being written.
fn run_and_kill(args: &[&str], delay: Duration, writing: Option<&Path>) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gampen"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gampen binary starts");
    if let Some(out) = writing {
        let name = out.file_name().unwrap().to_string_lossy();
        let tmp = out.with_file_name(format!(".{name}.tmp-{}", child.id()));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !tmp.exists() && matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    std::thread::sleep(delay);
    let killed = matches!(child.try_wait(), Ok(None));
    child.kill().ok();
    child.wait().expect("the child is reaped");
    killed
}

/// A complete CSV: a header, `rows` data rows, every row as wide as the header, and a final
/// newline.
fn is_complete_csv(bytes: &[u8], rows: usize) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let width = reader.headers().map(|h| h.len()).unwrap_or(0);
    let records: Vec<_> = reader.records().collect();
    text.ends_with('\n')
        && records.len() == rows
        && records
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.len() == width))
}

/// Hidden temporaries (`.<name>.tmp-<pid>...`) in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
        .collect()
}

fn predict_args<'a>(
    run: &'a Path,
    data: &'a Path,
    out: &'a Path,
    samples: &'a Path,
) -> Vec<&'a str> {
    vec![
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--out",
        s(out),
        "--samples-out",
        s(samples),
        "--passes",
        "30",
        "--batch-size",
        "2",
        "--quiet",
    ]
}

#[test]
fn killed_predict_leaves_the_previous_output_or_none() {
    let (root, data, run) = fixture();
    let dir = root.join("kill-predict");
    std::fs::create_dir_all(&dir).unwrap();
    let (out, samples) = (dir.join("p.csv"), dir.join("samples.csv"));
    let inputs = snapshot(data);
    let started = Instant::now();
    ok(&predict_args(run, data, &out, &samples));
    let full = started.elapsed();
    let previous = (
        std::fs::read(&out).unwrap(),
        std::fs::read(&samples).unwrap(),
    );
    assert!(is_complete_csv(&previous.0, 40));

    let mut rng = Lcg(13);
    let mut kills = 0;
    for round in 0..6 {
        // Half the rounds start without a previous output: then nothing may appear.
        let fresh = round % 2 == 1;
        if fresh {
            std::fs::remove_file(&out).unwrap();
            std::fs::remove_file(&samples).unwrap();
        }
        let delay = full.mul_f64(0.5 * rng.next_fraction());
        let args = predict_args(run, data, &out, &samples);
        let killed = run_and_kill(&args, delay, Some(&out));
        kills += killed as usize;
        // A run that got as far as its rename leaves a complete new file (the same bytes
        // when the seeded passes are reproducible).
        for (path, old, rows) in [(&out, &previous.0, 40), (&samples, &previous.1, 40 * 300)] {
            match std::fs::read(path) {
                Ok(now) => assert!(
                    now == *old || is_complete_csv(&now, rows),
                    "round {round} (killed: {killed}): {} is neither the previous nor a complete output",
                    path.display()
                ),
                Err(_) => assert!(fresh, "round {round}: {} vanished", path.display()),
            }
        }
        if !out.exists() {
            std::fs::write(&out, &previous.0).unwrap();
            std::fs::write(&samples, &previous.1).unwrap();
        }
        assert_same(&inputs, data, "killed predict", false);
    }
    assert!(kills >= 3, "only {kills} of 6 runs were killed mid-way");
    // The next complete run removes what the killed ones left behind.
    ok(&predict_args(run, data, &out, &samples));
    assert_eq!(temporaries(&dir), Vec::<String>::new());
}

#[test]
fn failing_predict_keeps_the_previous_output() {
    let (root, data, run) = fixture();
    let dir = root.join("fail-predict");
    let bad = dir.join("data");
    std::fs::create_dir_all(bad.join("cutouts")).unwrap();
    std::fs::copy(data.join("info.csv"), bad.join("info.csv")).unwrap();
    for e in std::fs::read_dir(data.join("cutouts")).unwrap().flatten() {
        std::fs::copy(e.path(), bad.join("cutouts").join(e.file_name())).unwrap();
    }
    // A corrupt cutout in the middle of the catalog: earlier batches were already written.
    std::fs::write(bad.join("cutouts/sim_0000020.fits"), b"SIMPLE  = not FITS").unwrap();
    let (out, samples) = (dir.join("p.csv"), dir.join("samples.jsonl"));
    ok(&predict_args(run, data, &out, &samples));
    let previous = snapshot(&dir);
    let out_err = gampen(&predict_args(run, &bad, &out, &samples));
    assert!(!out_err.status.success());
    let stderr = String::from_utf8_lossy(&out_err.stderr);
    assert!(stderr.contains("sim_0000020.fits"), "{stderr}");
    assert_unchanged(&previous, &dir, "failed predict");
}

#[test]
fn killed_merge_and_simulate_leave_the_previous_output() {
    let (root, ..) = fixture();
    let dir = root.join("kill-merge");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b, out) = (dir.join("a.csv"), dir.join("b.csv"), dir.join("all.csv"));
    for (p, shard) in [(&a, "a"), (&b, "b")] {
        let rows: String = (0..200_000)
            .map(|i| format!("{shard}{i}.fits,{i}.5\n"))
            .collect();
        std::fs::write(p, format!("file_name,preds_bt_median\n{rows}")).unwrap();
    }
    std::fs::write(&out, "file_name,preds_bt_median\nold.fits,1\n").unwrap();
    let before = snapshot(&dir);
    let args = ["merge", "--out", s(&out), s(&a), s(&b)];
    let started = Instant::now();
    ok(&args);
    let full = started.elapsed();
    let merged = std::fs::read(&out).unwrap();
    assert!(is_complete_csv(&merged, 400_000));
    std::fs::write(&out, &before[Path::new("all.csv")]).unwrap();
    let mut rng = Lcg(7);
    let mut kills = 0;
    for _ in 0..5 {
        let killed = run_and_kill(&args, full.mul_f64(0.5 * rng.next_fraction()), Some(&out));
        let now = std::fs::read(&out).unwrap();
        // A process killed after it moved the complete file into place, but before it exited,
        // counts as finished: the output is then the whole merge (seen once in CI).
        let interrupted = killed && now != merged;
        kills += interrupted as usize;
        if interrupted {
            assert_same(&before, &dir, "killed merge", true);
        } else {
            assert!(now == merged, "merge ended with an incomplete output");
            std::fs::write(&out, &before[Path::new("all.csv")]).unwrap();
        }
    }
    assert!(
        kills >= 3,
        "only {kills} of 5 merges were killed while writing"
    );

    // simulate --force over an existing data directory: the old one or the complete new one.
    let sim = root.join("kill-simulate");
    let new = root.join("kill-simulate-reference");
    let sim_args = |out: &'static str, seed: &'static str| {
        [
            "simulate", "--out", out, "--count", "300", "--size", "48", "--seed", seed, "--force",
        ]
    };
    let (sim_s, new_s): (&'static str, &'static str) = (
        Box::leak(s(&sim).to_string().into_boxed_str()),
        Box::leak(s(&new).to_string().into_boxed_str()),
    );
    ok(&sim_args(sim_s, "1"));
    let started = Instant::now();
    ok(&sim_args(new_s, "2"));
    let full = started.elapsed();
    let (old_snap, new_snap) = (snapshot(&sim), snapshot(&new));
    assert!(old_snap != new_snap);
    let mut kills = 0;
    for _ in 0..4 {
        kills += run_and_kill(
            &sim_args(sim_s, "2"),
            full.mul_f64(0.5 * rng.next_fraction()),
            Some(&sim),
        ) as usize;
        let now = snapshot(&sim);
        // Empty only in the instant between moving the old directory aside and the new one
        // in (docs/safety.md).
        assert!(
            now == old_snap || now == new_snap || now.is_empty(),
            "simulate left a mixed data directory"
        );
    }
    assert!(
        kills >= 2,
        "only {kills} of 4 simulate runs were killed mid-way"
    );
    // The next run removes the directories the killed ones were assembling.
    ok(&sim_args(sim_s, "2"));
    let left: Vec<String> = temporaries(root)
        .into_iter()
        .filter(|n| n.starts_with(".kill-simulate.tmp-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Runs every refusal of an output that names an input by another spelling, in `root`.
#[test]
fn outputs_that_are_inputs_by_another_spelling_are_refused() {
    let (root, data, run) = fixture();
    let dir = spelling_fixture(root, data);
    let before = (snapshot(&dir), snapshot(data), snapshot(run));
    merge_refuses_its_inputs(&dir);
    predict_refuses_its_inputs(&dir, data, run);
    crop_refuses_its_inputs(&dir, root, data, run);
    evaluate_and_simulate_refuse_their_inputs(&dir, data);
    train_import_and_demo_refuse_their_inputs(&dir, root, data, run);
    assert_unchanged(&before.0, &dir, "refused commands (working directory)");
    assert_unchanged(&before.1, data, "refused commands (data)");
    assert_unchanged(&before.2, run, "refused commands (run)");
}

/// A working directory with two prediction tables, a config, and (on Unix) a symbolic link
/// to one table and to the data directory and a hard link to the other table.
fn spelling_fixture(root: &Path, data: &Path) -> PathBuf {
    let dir = root.join("paths");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.csv"), "file_name,preds_bt_median\na.fits,1\n").unwrap();
    std::fs::write(dir.join("b.csv"), "file_name,preds_bt_median\nb.fits,2\n").unwrap();
    std::fs::write(dir.join("sim.json"), "{}").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.join("a.csv"), dir.join("link.csv")).unwrap();
        std::os::unix::fs::symlink(data, dir.join("data-link")).unwrap();
        std::fs::hard_link(dir.join("b.csv"), dir.join("hard.csv")).unwrap();
    }
    dir
}

/// `merge --out` naming one of its shards.
fn merge_refuses_its_inputs(dir: &Path) {
    let abs_a = dir.join("a.csv");
    let merge_cases: Vec<Vec<&str>> = vec![
        vec!["merge", "--out", "./a.csv", "a.csv", "b.csv"],
        vec!["merge", "--out", s(&abs_a), "a.csv"],
        vec!["merge", "--out", "sub/../a.csv", "b.csv", "a.csv"],
        vec!["merge", "--out", "link.csv", "a.csv"],
        vec!["merge", "--out", "b.csv", "a.csv", "b.csv"],
        #[cfg(unix)]
        vec!["merge", "--out", "hard.csv", "b.csv"],
    ];
    for args in &merge_cases {
        refused_in(dir, args, &["--out"]);
    }
}

/// `predict --out` or `--samples-out` naming or inside an input.
fn predict_refuses_its_inputs(dir: &Path, data: &Path, run: &Path) {
    let info_spelled = format!("{}/./info.csv", s(data));
    let inside = format!("{}/../data/p.csv", s(data));
    let model_inside = format!("{}/p.csv", s(run));
    let predict = |out: &str, extra: &[&str]| {
        let mut v = vec!["predict", "--model", s(run), "--data", s(data), "--out"];
        v.push(out);
        v.extend_from_slice(extra);
        // Every message names --out or --samples-out, and the path at fault.
        refused_in(dir, &v, &["-out "]);
    };
    predict(&info_spelled, &[]);
    predict(&inside, &[]);
    predict(&model_inside, &[]);
    predict("data-link/info.csv", &[]);
    predict("x.csv", &["--samples-out", "./x.csv"]);
    predict(
        "y.csv",
        &["--calibration", "a.csv", "--samples-out", "sub/../a.csv"],
    );
}

/// `crop --out` or `--grid` naming or holding an input.
fn crop_refuses_its_inputs(dir: &Path, root: &Path, data: &Path, run: &Path) {
    let info_spelled = format!("{}/./info.csv", s(data));
    let crop = |out: &str, extra: &[&str]| {
        let mut v = vec!["crop", "--model", s(run), "--data", s(data), "--out", out];
        v.extend_from_slice(extra);
        refused_in(dir, &v, &["--out"]);
    };
    crop(&format!("{}/.", s(data)), &[]);
    crop("data-link", &[]);
    crop(&format!("{}/crops", s(data)), &[]);
    crop(s(root), &[]);
    let out_grid = dir.join("crops");
    let grid_msg = refused_in(
        dir,
        &[
            "crop",
            "--model",
            s(run),
            "--data",
            s(data),
            "--out",
            s(&out_grid),
            "--grid",
            &info_spelled,
        ],
        &["--grid"],
    );
    assert!(grid_msg.contains("info.csv"), "{grid_msg}");
}

/// `evaluate --out`/`--fit-calibration` and `simulate --out`/`--config` naming an input.
fn evaluate_and_simulate_refuse_their_inputs(dir: &Path, data: &Path) {
    let eval = |out: &str, extra: &[&str], flag: &str| {
        let mut v = vec![
            "evaluate",
            "--predictions",
            "a.csv",
            "--data",
            s(data),
            "--out",
            out,
        ];
        v.extend_from_slice(extra);
        refused_in(dir, &v, &[flag]);
    };
    eval(s(data), &[], "--out");
    eval("data-link/eval", &[], "--out");
    eval("e", &["--fit-calibration", "./a.csv"], "--fit-calibration");

    let sim_msg = refused_in(
        dir,
        &["simulate", "--out", "data-link", "--count", "2"],
        &["--force"],
    );
    assert!(sim_msg.contains("--out"), "{sim_msg}");
    refused_in(
        dir,
        &[
            "simulate", "--out", "sub/..", "--count", "2", "--config", "sim.json", "--force",
        ],
        &["--config"],
    );
}

/// `train`, `import` and `demo` outputs that hold an input or are the working directory.
fn train_import_and_demo_refuse_their_inputs(dir: &Path, root: &Path, data: &Path, run: &Path) {
    let train = |out: &str, flag: &str| {
        refused_in(
            dir,
            &[
                "train",
                "--data",
                s(data),
                "--split",
                "tiny",
                "--out",
                out,
                "--epochs",
                "1",
            ],
            &[flag],
        )
    };
    train(&format!("{}/run", s(data)), "--out");
    train(s(root), "--out");
    let not_run = train(".", "--out");
    assert!(not_run.contains("not a training run"), "{not_run}");

    refused_in(
        dir,
        &[
            "import",
            "--state-dict",
            "a.csv",
            "--arch",
            "vgg16",
            "--cutout-size",
            "40",
            "--labels",
            "bt",
            "--dropout",
            "0.1",
            "--out",
            ".",
        ],
        &["--out", "--state-dict"],
    );
    refused_in(
        dir,
        &[
            "import",
            "--state-dict",
            "a.csv",
            "--arch",
            "vgg16",
            "--cutout-size",
            "40",
            "--labels",
            "bt",
            "--dropout",
            "0.1",
            "--out",
            s(run),
        ],
        &["--force"],
    );
    refused_in(dir, &["demo", "--out", "sub/.."], &["--force"]);
    let here = refused_in(
        &dir.join("sub"),
        &["simulate", "--out", "..", "--count", "2", "--force"],
        &["--out", "current directory"],
    );
    assert!(!here.contains("--force to"), "{here}");
}

#[test]
fn existing_output_directories_need_force() {
    let (root, data, run) = fixture();
    let dir = root.join("force");
    let crops = dir.join("crops");
    let crop = |extra: &[&str]| {
        let mut v = vec![
            "crop",
            "--model",
            s(run),
            "--data",
            s(data),
            "--split",
            "tiny-test",
            "--out",
            s(&crops),
        ];
        v.extend_from_slice(extra);
        gampen(&v)
    };
    assert!(crop(&[]).status.success());
    std::fs::write(crops.join("note.txt"), "mine").unwrap();
    let before = snapshot(&crops);
    let v = [
        "crop",
        "--model",
        s(run),
        "--data",
        s(data),
        "--out",
        s(&crops),
    ];
    let msg = refused_in(&dir, &v, &["--force", "--out"]);
    assert!(msg.contains("exists"), "{msg}");
    assert_unchanged(&before, &crops, "crop without --force");
    assert!(crop(&["--force"]).status.success());
    assert!(
        !crops.join("note.txt").exists(),
        "--force replaces the directory"
    );
    assert!(crops.join("info.csv").is_file());

    let eval = dir.join("eval");
    let preds = dir.join("p.csv");
    ok(&[
        "predict",
        "--model",
        s(run),
        "--data",
        s(data),
        "--split",
        "tiny-test",
        "--out",
        s(&preds),
        "--passes",
        "2",
        "--quiet",
    ]);
    let args = |force: bool| {
        let mut v = vec![
            "evaluate",
            "--predictions",
            s(&preds),
            "--data",
            s(data),
            "--out",
            s(&eval),
        ];
        if force {
            v.push("--force");
        }
        v
    };
    ok(&args(false));
    let before = snapshot(&eval);
    refused_in(&dir, &args(false), &["--force", "eval.json"]);
    assert_unchanged(&before, &eval, "evaluate without --force");
    ok(&args(true));
}

/// Every checkpoint under `run/checkpoints` is complete, and `best.json` / `last.json`, where
/// present, name one.
fn assert_checkpoints_complete(run: &Path, what: &str) {
    let dir = run.join("checkpoints");
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        for f in ["config.json", "model.bpk"] {
            assert!(e.path().join(f).is_file(), "{what}: {name}/{f} missing");
        }
    }
    for pointer in ["best.json", "last.json"] {
        let Ok(text) = std::fs::read_to_string(run.join(pointer)) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: {pointer} is not JSON ({e}): {text:?}"));
        let target = run.join(v["checkpoint"].as_str().expect("checkpoint entry"));
        assert!(
            target.join("model.bpk").is_file(),
            "{what}: {pointer} names {}, which is incomplete",
            target.display()
        );
    }
}

#[test]
fn killed_training_leaves_only_complete_checkpoints() {
    const EPOCHS: &str = "16";
    let (root, data, _) = fixture();
    let train_args = |out: &'static str| {
        [
            "train",
            "--data",
            s(data),
            "--split",
            "tiny",
            "--out",
            out,
            // Enough epochs that training, not start-up, fills the run: with 4, a run took
            // a few hundred milliseconds once the CPU path got faster, and a kill at 10-70 %
            // of the reference run's time often came after a later run had finished.
            "--epochs",
            EPOCHS,
            "--cutout-size",
            "40",
            "--batch-size",
            "10",
            "--optimizer",
            "adam",
            "--quiet",
        ]
    };
    let leak = |p: PathBuf| -> &'static str { Box::leak(s(&p).to_string().into_boxed_str()) };
    let inputs = snapshot(data);
    let started = Instant::now();
    ok(&train_args(leak(root.join("kill-train-reference"))));
    let full = started.elapsed();
    let mut rng = Lcg(29);
    let mut kills = 0;
    let mut last_run = root.join("kill-train-0");
    for round in 0..4 {
        // A fresh run each round, so that the delay means the same point of a whole run.
        last_run = root.join(format!("kill-train-{round}"));
        let args = train_args(leak(last_run.clone()));
        // At 5-35 % of the reference run: the reference may have run while other tests
        // loaded the machine, and a later, unloaded run can take half its time or less.
        let killed = run_and_kill(&args, full.mul_f64(0.05 + 0.3 * rng.next_fraction()), None);
        kills += killed as usize;
        assert_checkpoints_complete(&last_run, &format!("round {round}"));
        assert_same(&inputs, data, "killed train", false);
    }
    assert!(
        kills >= 2,
        "only {kills} of 4 training runs were killed mid-way"
    );
    // The last killed run resumes to the end.
    ok(&train_args(leak(last_run.clone())));
    assert_checkpoints_complete(&last_run, "after resuming");
    let text = std::fs::read_to_string(last_run.join("last.json")).unwrap();
    let last: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(last["epoch"].to_string(), EPOCHS, "{last}");
}
