//! Bad-input corpus (issue 13): corrupt and odd FITS files, broken catalogs and prediction
//! tables, mismatched model directories and out-of-range flags, each run through the built
//! `gampen` binary. Every case must exit non-zero with exactly one `error:` line that names
//! the file, row or flag, must not panic, and must leave every input file byte-identical.
//!
//! The cases are table-driven and share one tiny data directory and one one-epoch model,
//! built once; failures are collected so one run reports every broken case.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

mod common;

/// One bad input: the command line, the inputs it must leave alone, and what the error
/// line must contain (all of it, case-sensitive).
struct Case {
    name: String,
    args: Vec<String>,
    inputs: Vec<PathBuf>,
    expect: Vec<String>,
}

fn case(name: &str, args: &[&str], inputs: &[&Path], expect: &[&str]) -> Case {
    Case {
        name: name.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
        expect: expect.iter().map(|e| e.to_string()).collect(),
    }
}

/// A path as an argument; leaked so that argument tables can hold temporaries' paths (a few
/// kilobytes for the whole test).
fn s(p: &Path) -> &'static str {
    Box::leak(
        p.to_str()
            .expect("utf-8 temp path")
            .to_owned()
            .into_boxed_str(),
    )
}

fn gampen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gampen"))
        .args(args)
        .output()
        .expect("the gampen binary runs")
}

fn ok(args: &[&str]) {
    let out = gampen(args);
    assert!(
        out.status.success(),
        "gampen {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Hash of every file under `path` (or of `path` itself), keyed by relative path.
fn snapshot(path: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for entry in fs::read_dir(&p).expect("readable input dir") {
                stack.push(entry.expect("dir entry").path());
            }
        } else if let Ok(bytes) = fs::read(&p) {
            let mut h = DefaultHasher::new();
            bytes.hash(&mut h);
            out.insert(p, h.finish());
        }
    }
    out
}

/// Runs one case; returns a description of what went wrong, if anything.
fn check(c: &Case) -> Option<String> {
    let before: Vec<_> = c.inputs.iter().map(|p| snapshot(p)).collect();
    let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
    let out = gampen(&args);
    let after: Vec<_> = c.inputs.iter().map(|p| snapshot(p)).collect();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let problem = if out.status.success() {
        "exited 0".to_string()
    } else if !matches!(out.status.code(), Some(1 | 2)) {
        format!("exit status {:?} (a panic or a signal)", out.status.code())
    } else if lines.len() != 1 || !lines[0].starts_with("error: ") {
        format!("expected one `error:` line, got {} lines", lines.len())
    } else if stderr.contains("panicked") || stderr.contains("internal error") {
        "panicked".to_string()
    } else if let Some(missing) = c.expect.iter().find(|e| !lines[0].contains(e.as_str())) {
        format!("message does not contain {missing:?}")
    } else if before != after {
        "an input file changed".to_string()
    } else {
        return None;
    };
    Some(format!(
        "{}: {problem}\n    {:?}\n    {}",
        c.name,
        c.args,
        stderr.trim()
    ))
}

/// The shared inputs: a data directory of 16 simulated 48x48 galaxies with a `tiny` split,
/// a model trained on it for one epoch at 40x40, and its predictions for `tiny-test`.
struct Fixture {
    root: PathBuf,
    data: PathBuf,
    run: PathBuf,
    preds: PathBuf,
}

fn fixture() -> Fixture {
    let root = common::fixture_dir("bad-inputs");
    let data = root.join("data");
    let run = root.join("run");
    let preds = root.join("preds.csv");
    ok(&[
        "simulate",
        "--out",
        s(&data),
        "--count",
        "16",
        "--size",
        "48",
        "--seed",
        "3",
    ]);
    ok(&[
        "splits",
        "--data",
        s(&data),
        "--fractions",
        "0.5,0.25,0.25",
        "--name",
        "tiny",
        "--unbalanced",
        "--seed",
        "1",
    ]);
    ok(&[
        "train",
        "--data",
        s(&data),
        "--split",
        "tiny",
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--cutout-size",
        "40",
        "--batch-size",
        "8",
        "--optimizer",
        "adam",
        "--lr",
        "1e-3",
        "--quiet",
    ]);
    ok(&[
        "predict",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--split",
        "tiny-test",
        "--out",
        s(&preds),
        "--passes",
        "2",
        "--samples-per-pass",
        "2",
        "--quiet",
    ]);
    Fixture {
        root,
        data,
        run,
        preds,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Flags with values that must be refused at parse time, naming the flag.
fn flag_cases(f: &Fixture) -> Vec<Case> {
    let out = f.root.join("out/flags");
    let train = |flag: &str, value: &str| {
        let name = format!("train {flag}={value}");
        let args = [
            "train",
            "--data",
            s(&f.data),
            "--split",
            "tiny",
            "--out",
            s(&out),
            &format!("{flag}={value}"),
        ];
        case(&name, &args, &[&f.data], &[flag])
    };
    let mut cases = Vec::new();
    for (flag, values) in [
        ("--epochs", &["0", "-1", "x", "1e99", "99999999999"][..]),
        ("--batch-size", &["0", "-3", "2.5"]),
        ("--lr", &["0", "-1", "nan", "inf", "abc"]),
        ("--momentum", &["nan", "1", "-0.1", "1.5"]),
        ("--weight-decay", &["-1", "nan", "inf"]),
        ("--clip-grad-norm", &["-1", "0", "nan", "inf"]),
        ("--final-lr-factor", &["-1", "inf", "nan"]),
        ("--dropout", &["1", "-0.1", "nan"]),
        ("--width", &["0", "-1", "nan"]),
        ("--patience", &["0", "-1"]),
        ("--cutout-size", &["0", "-40"]),
        ("--channels", &["0"]),
        ("--warmup-epochs", &["-1", "x"]),
        ("--lr-warmup-steps", &["-1", "2.5", "x"]),
        ("--stn-lr-factor", &["-1", "nan", "inf"]),
    ] {
        cases.extend(values.iter().map(|v| train(flag, v)));
    }
    let predict = |flag: &str, value: &str| {
        let name = format!("predict {flag}={value}");
        let args = [
            "predict",
            "--model",
            s(&f.run),
            "--data",
            s(&f.data),
            "--out",
            s(&out.join("p.csv")),
            &format!("{flag}={value}"),
        ];
        case(&name, &args, &[&f.data, &f.run], &[flag])
    };
    for (flag, value) in [
        ("--passes", "0"),
        ("--passes", "-2"),
        ("--samples-per-pass", "0"),
        ("--batch-size", "0"),
        ("--dropout", "1.5"),
        ("--dropout", "inf"),
    ] {
        cases.push(predict(flag, value));
    }
    for (cmd, flag, value) in [
        ("crop", "--grid-count", "0"),
        ("crop", "--batch-size", "0"),
        ("simulate", "--count", "0"),
        ("simulate", "--size", "0"),
        ("simulate", "--bins", "0"),
        ("splits", "--bins", "0"),
        ("splits", "--fractions", "nan,0.1,0.1"),
        ("splits", "--fractions", "0.5,0.5,0.5"),
        ("splits", "--fractions", "0.5,-0.1,0.1"),
        ("splits", "--fractions", "0.7,0.3"),
        ("splits", "--fractions", "a,b,c"),
        ("demo", "--count", "0"),
        ("demo", "--epochs", "0"),
        ("demo", "--passes", "0"),
        ("demo", "--final-lr-factor", "-1"),
        ("demo", "--warmup-epochs", "x"),
        ("demo", "--lr-warmup-steps", "-1"),
        ("demo", "--batch-size", "0"),
        ("demo", "--stn-lr-factor", "nan"),
        ("import", "--cutout-size", "0"),
        ("import", "--dropout", "nan"),
    ] {
        let args = [cmd, &format!("{flag}={value}")];
        cases.push(case(&format!("{cmd} {flag}={value}"), &args, &[], &[flag]));
    }
    cases
}

/// One FITS header card, padded to 80 bytes.
fn card(key: &str, value: &str) -> String {
    format!("{:<80}", format!("{key:<8}= {value:>20}"))
}

/// A FITS file from header cards (END and block padding added) and raw data bytes.
fn fits(cards: &[(&str, &str)], data: &[u8]) -> Vec<u8> {
    let mut header: String = cards.iter().map(|(k, v)| card(k, v)).collect();
    header.push_str(&format!("{:<80}", "END"));
    let mut bytes = header.into_bytes();
    bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
    bytes.extend_from_slice(data);
    bytes.resize(bytes.len().div_ceil(2880) * 2880, 0);
    bytes
}

/// 48x48 big-endian f32 pixels of value `v`.
fn pixels(v: f32) -> Vec<u8> {
    (0..48 * 48).flat_map(|_| v.to_be_bytes()).collect()
}

fn image_cards<'a>(bitpix: &'a str, n1: &'a str, n2: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("SIMPLE", "T"),
        ("BITPIX", bitpix),
        ("NAXIS", "2"),
        ("NAXIS1", n1),
        ("NAXIS2", n2),
    ]
}

/// Xorshift bytes: a file of noise that no FITS reader should accept.
fn noise(len: usize) -> Vec<u8> {
    let mut random = vec![0u8; len];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in &mut random {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    random
}

/// Files that are not FITS, or stop before their data ends.
fn malformed_fits() -> Vec<(&'static str, Vec<u8>)> {
    let good = image_cards("-32", "48", "48");
    let no_end: Vec<u8> = good
        .iter()
        .map(|(k, v)| card(k, v))
        .collect::<String>()
        .into();
    let full = fits(&good, &pixels(1.0));
    vec![
        ("empty", Vec::new()),
        ("garbage", b"garbage".to_vec()),
        ("random", noise(5000)),
        ("no_end", no_end),
        ("truncated_data", full[..2880 + 3000].to_vec()),
        ("header_only", fits(&good, &[])),
    ]
}

/// FITS files whose axes or pixel type are impossible or unsupported.
fn bad_axes_fits() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "bitpix_7",
            fits(&image_cards("7", "48", "48"), &pixels(1.0)),
        ),
        (
            "bitpix_text",
            fits(&image_cards("'abc'", "48", "48"), &pixels(1.0)),
        ),
        (
            "naxis1_max",
            fits(&image_cards("16", "9223372036854775807", "48"), &[]),
        ),
        (
            "naxis1_negative",
            fits(&image_cards("-32", "-5", "48"), &[]),
        ),
        ("naxis1_zero", fits(&image_cards("-32", "0", "48"), &[])),
        (
            "naxis_zero",
            fits(&[("SIMPLE", "T"), ("BITPIX", "-32"), ("NAXIS", "0")], &[]),
        ),
        (
            "naxis_one",
            fits(
                &[
                    ("SIMPLE", "T"),
                    ("BITPIX", "-32"),
                    ("NAXIS", "1"),
                    ("NAXIS1", "48"),
                ],
                &pixels(1.0)[..192],
            ),
        ),
        (
            "too_small",
            fits(&image_cards("-32", "8", "8"), &pixels(1.0)[..256]),
        ),
        (
            "not_square",
            fits(&image_cards("-32", "48", "8"), &pixels(1.0)[..48 * 8 * 4]),
        ),
    ]
}

/// FITS files with odd scaling or header cards, or pixels that are not numbers.
fn bad_values_fits() -> Vec<(&'static str, Vec<u8>)> {
    let good = image_cards("-32", "48", "48");
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut c = good.clone();
        c.extend_from_slice(extra);
        c
    };
    let swapped = |first: (&'static str, &'static str), second| {
        let mut cards = vec![first, second];
        cards.extend_from_slice(&good[2..]);
        fits(&cards, &pixels(1.0))
    };
    vec![
        ("bscale_zero", fits(&with(&[("BSCALE", "0")]), &pixels(1.0))),
        (
            "bscale_huge",
            fits(&with(&[("BSCALE", "1e300")]), &pixels(1.0)),
        ),
        (
            "bzero_overflow",
            fits(&with(&[("BZERO", "1e400")]), &pixels(1.0)),
        ),
        (
            "naxis1_repeated",
            fits(&with(&[("NAXIS1", "40")]), &pixels(1.0)),
        ),
        ("simple_false", swapped(("SIMPLE", "F"), ("BITPIX", "-32"))),
        (
            "not_simple_first",
            swapped(("BITPIX", "-32"), ("SIMPLE", "T")),
        ),
        ("all_nan", fits(&good, &pixels(f32::NAN))),
        ("inf_pixels", fits(&good, &pixels(f32::INFINITY))),
    ]
}

/// Corrupt and odd FITS files, one per split catalog of a copy of the data directory, read
/// by `predict`: the error must name the file.
fn fits_cases(f: &Fixture) -> Vec<Case> {
    let dir = f.root.join("fitsdata");
    copy_dir(&f.data, &dir);
    let mut variants = malformed_fits();
    variants.extend(bad_axes_fits());
    variants.extend(bad_values_fits());
    let header = fs::read_to_string(f.data.join("info.csv")).expect("info.csv");
    let header = header.lines().next().expect("header line");
    let columns = header.split(',').count();
    let mut cases = Vec::new();
    let mut add = |name: &str, file: &str| {
        let row = format!("{file}{}", ",1".repeat(columns - 1));
        fs::write(
            dir.join(format!("splits/{name}.csv")),
            format!("{header}\n{row}\n"),
        )
        .expect("write split");
        let args = [
            "predict",
            "--model",
            s(&f.run),
            "--data",
            s(&dir),
            "--split",
            name,
            "--out",
            s(&f.root.join(format!("out/fits-{name}.csv"))),
            "--passes",
            "1",
            "--quiet",
        ];
        cases.push(case(
            &format!("fits {name}"),
            &args,
            &[&dir, &f.run],
            &[file],
        ));
    };
    for (name, bytes) in &variants {
        let file = format!("bad_{name}.fits");
        fs::write(dir.join("cutouts").join(&file), bytes).expect("write fits");
        add(name, &file);
    }
    fs::create_dir_all(dir.join("cutouts/bad_dir.fits")).expect("mkdir");
    add("directory", "bad_dir.fits");
    add("missing", "bad_missing.fits");
    cases
}

/// Rewrites `src` line by line (line 0 is the header) into `dst`.
fn edit_csv(src: &Path, dst: &Path, edit: impl Fn(usize, &str) -> Option<String>) {
    let text = fs::read_to_string(src).expect("read csv");
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| edit(i, l))
        .collect();
    fs::write(dst, lines.join("\n") + "\n").expect("write csv");
}

/// Replaces cell `col` of data row `row` (1-based line index) with `value`.
fn set_cell(header: &str, line: &str, col: &str, value: &str) -> String {
    let k = header
        .split(',')
        .position(|c| c == col)
        .expect("column exists");
    let mut cells: Vec<&str> = line.split(',').collect();
    cells[k] = value;
    cells.join(",")
}

/// An edit of a CSV file, line by line (line 0 is the header); `None` drops the line.
type CsvEdit = Box<dyn Fn(usize, &str) -> Option<String>>;

/// Sets cell `col` of line `row` to `value` (the file's header is `header`).
fn cell_edit(header: &str, row: usize, col: &'static str, value: impl Into<String>) -> CsvEdit {
    let (h, value) = (header.to_string(), value.into());
    Box::new(move |i, l| {
        Some(if i == row {
            set_cell(&h, l, col, &value)
        } else {
            l.to_string()
        })
    })
}

/// Rewrites line `row` with `edit`, keeping the others.
fn line_edit(row: usize, edit: fn(&str) -> String) -> CsvEdit {
    Box::new(move |i, l| Some(if i == row { edit(l) } else { l.to_string() }))
}

/// A broken training catalog: (name, edit, what the message must name besides the file).
type CatalogEdit = (&'static str, CsvEdit, &'static [&'static str]);

/// Training catalogs (header `h`, first key `fk`) with one bad cell.
fn bad_cell_edits(h: &str, fk: &str) -> Vec<CatalogEdit> {
    vec![
        ("label_inf", cell_edit(h, 2, "bt", "inf"), &["bt"]),
        ("label_nan", cell_edit(h, 1, "r_e", "NaN"), &["r_e"]),
        (
            "label_overflow",
            cell_edit(h, 3, "total_flux", "1e999"),
            &["total_flux"],
        ),
        ("label_text", cell_edit(h, 1, "bt", "abc"), &["bt"]),
        ("label_empty", cell_edit(h, 2, "r_e", ""), &["r_e"]),
        ("label_out_of_domain", cell_edit(h, 1, "bt", "1.5"), &["bt"]),
        (
            "label_negative_radius",
            cell_edit(h, 2, "r_e", "-1"),
            &["r_e"],
        ),
        (
            "key_empty",
            cell_edit(h, 1, "file_name", ""),
            &["file_name"],
        ),
        ("key_duplicate", cell_edit(h, 2, "file_name", fk), &[]),
        (
            "key_dot_slash",
            cell_edit(h, 2, "file_name", format!("./{fk}")),
            &[],
        ),
        (
            "missing_cutout",
            cell_edit(h, 1, "file_name", "nope.fits"),
            &[],
        ),
    ]
}

/// Training catalogs (header `h`) with a missing, repeated or short column or row.
fn bad_shape_edits(h: &str) -> Vec<CatalogEdit> {
    let drop_col = |col: &'static str| -> CsvEdit {
        let k = h.split(',').position(|c| c == col).expect("column");
        Box::new(move |_, l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(k);
            Some(cells.join(","))
        })
    };
    vec![
        ("missing_label_column", drop_col("bt"), &["bt"]),
        ("missing_key_column", drop_col("file_name"), &["file_name"]),
        (
            "header_only",
            Box::new(|i, l| (i == 0).then(|| l.to_string())),
            &[],
        ),
        ("empty_file", Box::new(|_, _| None), &[]),
        (
            "ragged_row",
            line_edit(1, |l| {
                l.rsplit_once(',')
                    .map(|x| x.0.to_string())
                    .unwrap_or_default()
            }),
            &[],
        ),
        (
            "duplicate_column",
            line_edit(0, |l| l.replacen("r_e", "bt", 1)),
            &["bt"],
        ),
    ]
}

/// `gampen train` on split `split` of `dir`, into out/`out`.
fn train_case(f: &Fixture, dir: &Path, split: &str, out: &str, expect: &[&str]) -> Case {
    let args = [
        "train",
        "--data",
        s(dir),
        "--split",
        split,
        "--out",
        s(&f.root.join("out").join(out)),
        "--epochs",
        "1",
        "--cutout-size",
        "40",
        "--quiet",
    ];
    case(&format!("catalog {split}"), &args, &[dir], expect)
}

/// Broken training catalogs: `train --split <case>` reads splits/<case>-train.csv (broken)
/// and splits/<case>-devel.csv (good, or broken for the devel cases).
fn catalog_cases(f: &Fixture) -> Vec<Case> {
    let dir = f.root.join("catdata");
    copy_dir(&f.data, &dir);
    let train_csv = f.data.join("splits/tiny-train.csv");
    let devel_csv = f.data.join("splits/tiny-devel.csv");
    let text = fs::read_to_string(&train_csv).expect("train csv");
    let header = text.lines().next().expect("header");
    let first_key = text.lines().nth(1).expect("row").split(',').next();
    let mut edits = bad_cell_edits(header, first_key.expect("key"));
    edits.extend(bad_shape_edits(header));
    let mut cases = Vec::new();
    for (name, edit, names) in edits {
        let file = format!("{name}-train.csv");
        edit_csv(&train_csv, &dir.join("splits").join(&file), edit);
        fs::copy(&devel_csv, dir.join(format!("splits/{name}-devel.csv"))).expect("copy");
        // A missing cutout is named by its own path, not the catalog's.
        let mut expect = if name == "missing_cutout" {
            vec!["nope.fits"]
        } else {
            vec![file.as_str()]
        };
        expect.extend_from_slice(names);
        cases.push(train_case(f, &dir, name, &format!("cat-{name}"), &expect));
    }
    let name = "devel_inf";
    fs::copy(&train_csv, dir.join(format!("splits/{name}-train.csv"))).expect("copy");
    let file = format!("{name}-devel.csv");
    let edit = cell_edit(header, 1, "bt", "inf");
    edit_csv(&devel_csv, &dir.join("splits").join(&file), edit);
    cases.push(train_case(f, &dir, name, "cat-devel", &[&file, "bt"]));
    let args = [
        "train",
        "--data",
        s(&dir),
        "--split",
        "no_such_split",
        "--out",
        s(&f.root.join("out/cat-nosplit")),
        "--quiet",
    ];
    cases.push(case(
        "catalog missing split",
        &args,
        &[&dir],
        &["no_such_split"],
    ));
    cases
}

/// Two copies of the truth catalog: one with the galaxy `key` twice, one with its `bt`
/// infinite.
fn bad_truths(f: &Fixture, key: &str) -> [PathBuf; 2] {
    let info = f.data.join("info.csv");
    let info_text = fs::read_to_string(&info).expect("info");
    let info_header = info_text.lines().next().expect("header").to_string();
    let truth_row = info_text
        .lines()
        .find(|l| l.starts_with(&format!("{key},")))
        .expect("predicted galaxy in info.csv")
        .to_string();
    let dup_truth = f.root.join("duptruth");
    copy_dir(&f.data, &dup_truth);
    fs::write(
        dup_truth.join("info.csv"),
        format!("{info_text}{truth_row}\n"),
    )
    .expect("write");
    let inf_truth = f.root.join("inftruth");
    copy_dir(&f.data, &inf_truth);
    edit_csv(&info, &inf_truth.join("info.csv"), |_, l| {
        Some(if l == truth_row {
            set_cell(&info_header, l, "bt", "inf")
        } else {
            l.to_string()
        })
    });
    [dup_truth, inf_truth]
}

/// `gampen evaluate` of `preds` against `data`.
fn eval_case(f: &Fixture, name: &str, preds: &Path, data: &Path, expect: &[&str]) -> Case {
    let args = [
        "evaluate",
        "--predictions",
        s(preds),
        "--data",
        s(data),
        "--out",
        s(&f.root.join("out").join(format!("eval-{name}"))),
    ];
    case(&format!("evaluate {name}"), &args, &[preds, data], expect)
}

/// `gampen merge` of `shards`.
fn merge_case(f: &Fixture, name: &str, shards: &[&Path], expect: &[&str]) -> Case {
    let target = f.root.join("out").join(format!("merge-{name}.csv"));
    let mut args = vec!["merge", "--out", s(&target)];
    args.extend(shards.iter().map(|p| s(p)));
    case(&format!("merge {name}"), &args, shards, expect)
}

/// Broken prediction tables and truth catalogs for `evaluate`, and shards for `merge`.
fn table_cases(f: &Fixture) -> Vec<Case> {
    let dir = f.root.join("tables");
    fs::create_dir_all(&dir).expect("mkdir");
    let truth = f.root.join("truthdata");
    copy_dir(&f.data, &truth);
    let preds_text = fs::read_to_string(&f.preds).expect("preds");
    let lines: Vec<&str> = preds_text.lines().collect();
    let (header, row1, row2) = (lines[0], lines[1], lines[2]);
    let key1 = row1.split(',').next().expect("key");
    let key2 = row2.split(',').next().expect("key");
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        fs::write(&p, text).expect("write");
        p
    };
    let dup = write("dup.csv", format!("{preds_text}{row1}\n"));
    let conflicting = {
        let mut cells: Vec<&str> = row2.split(',').collect();
        cells[0] = key1;
        write("conflict.csv", format!("{preds_text}{}\n", cells.join(",")))
    };
    let header_only = write("header_only.csv", format!("{header}\n"));
    let empty = write("empty.csv", String::new());
    let no_key = write("no_key.csv", preds_text.replacen("file_name", "name", 1));
    let shard_a = write("shard_a.csv", format!("{header}\n{row1}\n{row2}\n"));
    let shard_b = write("shard_b.csv", format!("{header}\n{row2}\n"));
    let other_header = write("other_header.csv", format!("file_name,x\n{key1},1\n"));

    let [dup_truth, inf_truth] = bad_truths(f, key1);
    let eval = |name: &str, preds: &Path, data: &Path, expect: &[&str]| {
        eval_case(f, name, preds, data, expect)
    };
    let merge = |name: &str, shards: &[&Path], expect: &[&str]| merge_case(f, name, shards, expect);
    vec![
        eval("duplicate prediction", &dup, &f.data, &["dup.csv", key1]),
        eval(
            "conflicting prediction",
            &conflicting,
            &f.data,
            &["conflict.csv", key1],
        ),
        eval(
            "header-only predictions",
            &header_only,
            &f.data,
            &["header_only.csv"],
        ),
        eval("empty predictions", &empty, &f.data, &["empty.csv"]),
        eval(
            "no key column",
            &no_key,
            &f.data,
            &["no_key.csv", "file_name"],
        ),
        eval("duplicate truth", &f.preds, &dup_truth, &["info.csv", key1]),
        eval("infinite truth", &f.preds, &inf_truth, &["info.csv", "bt"]),
        eval(
            "missing predictions",
            &dir.join("nope.csv"),
            &f.data,
            &["nope.csv"],
        ),
        eval("missing data", &f.preds, &dir.join("nodata"), &["nodata"]),
        merge(
            "duplicate key across shards",
            &[&shard_a, &shard_b],
            &["shard_b.csv", key2],
        ),
        merge(
            "different headers",
            &[&shard_a, &other_header],
            &["other_header.csv"],
        ),
        merge("empty shard", &[&shard_a, &empty], &["empty.csv"]),
        merge(
            "missing shard",
            &[&shard_a, &dir.join("nope.csv")],
            &["nope.csv"],
        ),
        merge("duplicate within a shard", &[&dup], &["dup.csv", key1]),
    ]
}

/// An edit of a copy of a checkpoint directory.
type DirEdit = Box<dyn Fn(&Path)>;

/// A broken checkpoint: (name, edit, what the message must contain).
type ModelEdit = (&'static str, DirEdit, &'static [&'static str]);

/// Replaces the first `from` in `file` with `to`.
fn json_edit(file: &'static str, from: &'static str, to: &'static str) -> DirEdit {
    Box::new(move |d: &Path| {
        let p = d.join(file);
        let text = fs::read_to_string(&p).expect("read");
        assert!(text.contains(from), "{file} has no {from}");
        fs::write(&p, text.replacen(from, to, 1)).expect("write");
    })
}

/// Overwrites `file` with `bytes`.
fn write_edit(file: &'static str, bytes: &'static [u8]) -> DirEdit {
    Box::new(move |d: &Path| fs::write(d.join(file), bytes).expect("write"))
}

/// Removes `file`.
fn remove_file_edit(file: &'static str) -> DirEdit {
    Box::new(move |d: &Path| fs::remove_file(d.join(file)).expect("remove"))
}

/// Checkpoints whose config.json is missing, unreadable or out of range.
fn config_edits() -> Vec<ModelEdit> {
    vec![
        (
            "config missing",
            remove_file_edit("config.json"),
            &["config.json"],
        ),
        (
            "config empty",
            write_edit("config.json", b""),
            &["config.json"],
        ),
        (
            "config not json",
            write_edit("config.json", b"{"),
            &["config.json"],
        ),
        (
            "config wrong type",
            json_edit(
                "config.json",
                "\"cutout_size\": 40",
                "\"cutout_size\": \"x\"",
            ),
            &["config.json"],
        ),
        (
            "config width 0",
            json_edit("config.json", "\"width\": 0.125", "\"width\": 0.0"),
            &["config.json", "width"],
        ),
        (
            "config width huge",
            json_edit("config.json", "\"width\": 0.125", "\"width\": 1e300"),
            &["config.json", "width"],
        ),
        (
            "config cutout 0",
            json_edit("config.json", "\"cutout_size\": 40", "\"cutout_size\": 0"),
            &["config.json", "cutout_size"],
        ),
        (
            "config cutout huge",
            json_edit(
                "config.json",
                "\"cutout_size\": 40",
                "\"cutout_size\": 18446744073709551615",
            ),
            &["config.json", "cutout_size"],
        ),
        (
            "config dropout 1",
            json_edit("config.json", "\"dropout\": 0.02", "\"dropout\": 1.0"),
            &["config.json", "dropout"],
        ),
        (
            "config channels 0",
            json_edit("config.json", "\"channels\": 1", "\"channels\": 0"),
            &["config.json", "channels"],
        ),
        (
            "config hidden 0",
            json_edit("config.json", "64,\n        64", "0,\n        64"),
            &["config.json", "hidden"],
        ),
    ]
}

/// Checkpoints whose config does not fit the weights, or whose weights or labels are broken.
fn weight_and_label_edits() -> Vec<ModelEdit> {
    vec![
        (
            "config fewer parameters",
            json_edit("config.json", "\"bt\",", ""),
            &["model.bpk"],
        ),
        (
            "weights do not fit",
            json_edit("config.json", "\"width\": 0.125", "\"width\": 0.25"),
            &["model.bpk"],
        ),
        (
            "weights missing",
            remove_file_edit("model.bpk"),
            &["model.bpk"],
        ),
        (
            "weights truncated",
            Box::new(|d: &Path| {
                let p = d.join("model.bpk");
                let bytes = fs::read(&p).expect("read");
                fs::write(&p, &bytes[..bytes.len() / 3]).expect("write");
            }),
            &["model.bpk"],
        ),
        (
            "weights garbage",
            write_edit("model.bpk", b"not a burnpack file at all"),
            &["model.bpk"],
        ),
        (
            "labels corrupt",
            write_edit("labels.json", b"[1,2"),
            &["labels.json"],
        ),
        (
            "labels too short",
            Box::new(|d: &Path| {
                let p = d.join("labels.json");
                let mut v: serde_json::Value =
                    serde_json::from_str(&fs::read_to_string(&p).expect("read")).expect("json");
                v["columns"].as_array_mut().expect("columns").pop();
                fs::write(&p, v.to_string()).expect("write");
            }),
            &["labels.json", "columns"],
        ),
        (
            "labels wrong type",
            write_edit("labels.json", b"{\"columns\": 3}"),
            &["labels.json"],
        ),
    ]
}

/// Model directories with a missing, corrupt or mismatched part, read by `predict`.
fn model_cases(f: &Fixture) -> Vec<Case> {
    let models = f.root.join("models");
    let best = fs::read_to_string(f.run.join("best.json")).expect("best.json");
    let rel = best
        .split('"')
        .nth(3)
        .expect("checkpoint entry")
        .to_string();
    let ckpt = f.run.join(&rel);
    let mut edits = config_edits();
    edits.extend(weight_and_label_edits());
    let mut cases = Vec::new();
    for (i, (name, edit, expect)) in edits.into_iter().enumerate() {
        let dir = models.join(format!("m{i:02}"));
        copy_dir(&ckpt, &dir);
        edit(&dir);
        let args = [
            "predict",
            "--model",
            s(&dir),
            "--data",
            s(&f.data),
            "--split",
            "tiny-test",
            "--out",
            s(&f.root.join(format!("out/model-{i}.csv"))),
            "--passes",
            "1",
            "--quiet",
        ];
        cases.push(case(
            &format!("model {name}"),
            &args,
            &[&dir, &f.data],
            expect,
        ));
    }
    cases.extend(run_dir_cases(f, &models));
    cases
}

/// Training run directories whose pointer files are broken, and model paths that are not
/// models at all.
fn run_dir_cases(f: &Fixture, models: &Path) -> Vec<Case> {
    let variants: [(&str, Option<&[u8]>); 4] = [
        ("best.json corrupt", Some(b"{\"checkpoint\":")),
        (
            "best.json points nowhere",
            Some(b"{\"checkpoint\":\"checkpoints/epoch-9999\",\"epoch\":9999}"),
        ),
        ("best.json without checkpoint", Some(b"{\"epoch\":1}")),
        ("no best.json or last.json", None),
    ];
    let mut cases = Vec::new();
    for (i, (name, best)) in variants.into_iter().enumerate() {
        let dir = models.join(format!("run{i}"));
        copy_dir(&f.run, &dir);
        match best {
            Some(bytes) => fs::write(dir.join("best.json"), bytes).expect("write"),
            None => {
                fs::remove_file(dir.join("best.json")).expect("remove");
                fs::remove_file(dir.join("last.json")).expect("remove");
            }
        }
        let args = [
            "predict",
            "--model",
            s(&dir),
            "--data",
            s(&f.data),
            "--out",
            s(&f.root.join(format!("out/run-{i}.csv"))),
            "--passes",
            "1",
            "--quiet",
        ];
        cases.push(case(
            &format!("run {name}"),
            &args,
            &[&dir, &f.data],
            &[s(&dir)],
        ));
    }
    let empty = models.join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    let file = models.join("a_file");
    fs::write(&file, b"x").expect("write");
    for (name, path) in [
        ("empty dir", &empty),
        ("a file", &file),
        ("missing", &models.join("nope")),
    ] {
        let args = [
            "predict",
            "--model",
            s(path),
            "--data",
            s(&f.data),
            "--out",
            s(&f.root.join("out/run-x.csv")),
            "--quiet",
        ];
        cases.push(case(
            &format!("model path {name}"),
            &args,
            &[&f.data],
            &[s(path)],
        ));
    }
    cases
}

/// `splits` on a catalog whose balance column has one far outlier: equal-width bins over the
/// observed range put every other galaxy into one bin, which must not leave a part empty.
fn splits_cases(f: &Fixture) -> Vec<Case> {
    let dir = f.root.join("outlierdata");
    copy_dir(&f.data, &dir);
    let info = f.data.join("info.csv");
    let header = fs::read_to_string(&info).expect("info");
    let header = header.lines().next().expect("header").to_string();
    edit_csv(&info, &dir.join("info.csv"), |i, l| {
        Some(if i == 1 {
            set_cell(&header, l, "r_e", "1e6")
        } else {
            l.to_string()
        })
    });
    let args = [
        "splits",
        "--data",
        s(&dir),
        "--balance-column",
        "r_e",
        "--fractions",
        "0.5,0.25,0.25",
        "--name",
        "outlier",
    ];
    let info_csv = dir.join("info.csv");
    vec![case(
        "splits outlier balance value",
        &args,
        &[&info_csv],
        &["outlier", "r_e"],
    )]
}

#[test]
fn every_bad_input_is_one_clear_error_and_changes_no_input() {
    let f = fixture();
    let mut cases = flag_cases(&f);
    cases.extend(fits_cases(&f));
    cases.extend(catalog_cases(&f));
    cases.extend(table_cases(&f));
    cases.extend(model_cases(&f));
    cases.extend(splits_cases(&f));
    cases.extend(option_cases(&f));
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(cases.iter());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some(c) = next.lock().expect("queue").next() else {
                    break;
                };
                if let Some(problem) = check(c) {
                    failures.lock().expect("failures").push(problem);
                }
            });
        }
    });
    let failures = failures.into_inner().expect("failures");
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs mishandled:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} bad inputs, all rejected cleanly", cases.len());
}

/// `--device wgpu` where the Vulkan loader finds no driver (as on a machine without a GPU
/// driver or lavapipe) must fail within seconds naming what to install, not fall back to a
/// software OpenGL adapter and spin.
#[test]
fn wgpu_without_an_adapter_fails_fast_naming_what_to_install() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("data");
    ok(&[
        "simulate",
        "--out",
        s(&data),
        "--count",
        "8",
        "--size",
        "48",
    ]);
    let empty_icd = root.path().join("no-icd");
    fs::create_dir_all(&empty_icd).expect("mkdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gampen"))
        .args([
            "train",
            "--data",
            s(&data),
            "--out",
            s(&root.path().join("run")),
            "--epochs",
            "1",
            "--cutout-size",
            "40",
            "--quiet",
            "--device",
            "wgpu",
        ])
        .env("VK_ICD_FILENAMES", root.path().join("no-icd/none.json"))
        .env("VK_DRIVER_FILES", root.path().join("no-icd/none.json"))
        .env("VK_ADD_DRIVER_FILES", "")
        .env("WGPU_BACKEND", "vulkan")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the gampen binary runs");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().expect("kill");
            panic!("--device wgpu without an adapter still running after 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: --device wgpu") && lines[0].contains("mesa-vulkan-drivers"),
        "{stderr}"
    );
    assert!(!root.path().join("run/checkpoints").exists());
}

/// Documented handling of a non-finite predicted value: the galaxy is left out of every
/// metric of that parameter (MAE and coverage over the same rows) and of all_inside, with a
/// counted warning; the other parameters keep it (gampen::calibration's one rule).
#[test]
fn a_non_finite_prediction_is_a_counted_warning_and_left_out_of_that_parameters_metrics() {
    let f = fixture();
    let text = fs::read_to_string(&f.preds).expect("preds");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let median = header
        .iter()
        .position(|c| *c == "preds_bt_median")
        .expect("bt median column");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[median] = "NaN".into();
    lines[1] = cells.join(",");
    let preds = f.root.join("nan_preds.csv");
    fs::write(&preds, lines.join("\n") + "\n").expect("write");
    let out_dir = f.root.join("out/eval-nan");
    let out = gampen(&[
        "evaluate",
        "--predictions",
        s(&preds),
        "--data",
        s(&f.data),
        "--out",
        s(&out_dir),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning: 1 prediction rows"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out_dir.join("eval.json")).expect("eval.json"))
            .expect("json");
    let rows = lines.len() as u64 - 1;
    assert_eq!(report["matched"].as_u64(), Some(rows));
    assert_eq!(report["all_inside_count"].as_u64(), Some(rows - 1));
    for p in report["parameters"].as_array().expect("parameters") {
        let left_out = u64::from(p["parameter"] == "bt");
        assert_eq!(p["count"].as_u64(), Some(rows - left_out), "{p}");
        assert_eq!(p["skipped"].as_u64(), Some(left_out), "{p}");
    }
}

/// Documented handling of the 42 standard splits on a catalog with an outlier in the balance
/// column: they are written (small catalogs legitimately leave the smallest fractions empty)
/// with a warning that counts the empty files.
#[test]
fn standard_splits_with_empty_parts_warn_with_a_count() {
    let f = fixture();
    let dir = f.root.join("outlier-standard");
    copy_dir(&f.data, &dir);
    let info = f.data.join("info.csv");
    let header = fs::read_to_string(&info).expect("info");
    let header = header.lines().next().expect("header").to_string();
    edit_csv(&info, &dir.join("info.csv"), |i, l| {
        Some(if i == 1 {
            set_cell(&header, l, "r_e", "1e6")
        } else {
            l.to_string()
        })
    });
    let out = gampen(&["splits", "--data", s(&dir), "--balance-column", "r_e"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_else(|| panic!("no warning in {stderr}"));
    assert!(
        warning.contains("of 42 split files are empty") && warning.contains("r_e"),
        "{warning}"
    );
}

/// Values of string-typed options that are checked when the command runs: train's
/// --hidden/--labels/--transforms, predict's --shard and --calibration files.
fn option_cases(f: &Fixture) -> Vec<Case> {
    let dir = f.root.join("options");
    fs::create_dir_all(&dir).expect("mkdir");
    let mut cases = Vec::new();
    for (i, (flag, value, expect)) in [
        ("--hidden", "0", "--hidden"),
        ("--hidden", "64,x", "--hidden"),
        ("--hidden", "99999999", "hidden"),
        ("--labels", "nope", "nope"),
        ("--transforms", "bogus", "--transforms"),
    ]
    .into_iter()
    .enumerate()
    {
        let out = f.root.join(format!("out/option-train-{i}"));
        let args = [
            "train",
            "--data",
            s(&f.data),
            "--split",
            "tiny",
            "--out",
            s(&out),
            "--epochs",
            "1",
            "--cutout-size",
            "40",
            "--quiet",
            flag,
            value,
        ];
        cases.push(case(
            &format!("train {flag} {value}"),
            &args,
            &[&f.data],
            &[expect],
        ));
    }
    let predict = |name: &str, extra: &[&str], expect: &str| {
        let mut args = vec![
            "predict",
            "--model",
            s(&f.run),
            "--data",
            s(&f.data),
            "--split",
            "tiny-test",
            "--out",
            s(&f.root.join(format!("out/option-{name}.csv"))),
            "--passes",
            "1",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        case(
            &format!("predict {name}"),
            &args,
            &[&f.data, &f.run, &dir],
            &[expect],
        )
    };
    for shard in ["0/2", "3/2", "1/0", "x", "1/99999999999999999999"] {
        cases.push(predict(
            &format!("shard {shard}"),
            &["--shard", shard],
            "--shard",
        ));
    }
    let corrupt = dir.join("corrupt.json");
    fs::write(&corrupt, b"{").expect("write");
    let other = dir.join("other_params.json");
    fs::write(&other, br#"{"parameters":["zz"],"scales":[1]}"#).expect("write");
    for (name, path) in [
        ("calibration corrupt", &corrupt),
        ("calibration for other parameters", &other),
        ("calibration missing", &dir.join("missing.json")),
    ] {
        let file = path.file_name().and_then(|n| n.to_str()).expect("name");
        cases.push(predict(name, &["--calibration", s(path)], file));
    }
    cases
}
