//! Importing a published GaMPEN model with its scaling data (`gampen::import::published`)
//! against what GaMPEN's own inference + aggregation steps give (reference from PyTorch,
//! scikit-learn and pandas: `tools/fixtures_published.py`): the scaler, the means in GaMPEN's
//! units, the B/T snapping, the Monte-Carlo spread at the published dropout rate, and the
//! errors of this path.
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#![allow(deprecated)]

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use gampen::gampen_backbone::VggVariant;
use gampen::import::published::import_published_with_config;
use gampen::import::{PublishedModel, ScalingData};
use gampen::{checkpoint, BackboneSpec, GampenConfig};
use gampen_data::{LabelTransform, Transform};
use gampen_testing::{fixtures_dir, lcg, to_vec, Value};

fn dir() -> PathBuf {
    fixtures_dir().join("published")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(dir().join("reference.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

fn preset() -> &'static PublishedModel {
    PublishedModel::find("sim_i_050_075").unwrap()
}

/// The published network with the fixture's narrow widths (same layers and keys).
fn narrow(preset: &PublishedModel, r: &Value) -> GampenConfig {
    let stn: Vec<usize> = serde_json::from_value(r["stn_channels"].clone()).unwrap();
    preset
        .config()
        .with_stn_channels([stn[0], stn[1]])
        .with_backbone(BackboneSpec::Vgg {
            variant: VggVariant::Vgg16,
            width: r["width"].as_f64().unwrap(),
            batch_norm: false,
            hidden: serde_json::from_value(r["hidden"].clone()).unwrap(),
        })
}

fn import(device: &Device) -> (gampen::Gampen, LabelTransform) {
    let r = reference();
    let file = dir().join(r["file"].as_str().unwrap());
    import_published_with_config(
        preset(),
        &narrow(preset(), &r),
        &file,
        &dir().join("scaling"),
        device,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn floats(v: &Value) -> Vec<f64> {
    serde_json::from_value::<Vec<f64>>(v.clone()).unwrap()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    serde_json::from_value(v.clone()).unwrap()
}

/// `abs(lcg) * 2`, image `i` multiplied by `i + 1`, as the fixture script.
fn inputs(device: &Device) -> Tensor<4> {
    let (n, c, s) = (4, 3, 96);
    let per = c * s * s;
    let v: Vec<f32> = lcg(9, n * per)
        .into_iter()
        .enumerate()
        .map(|(k, x)| x.abs() * 2.0 * (k / per + 1) as f32)
        .collect();
    Tensor::from_data(TensorData::new(v, [n, c, s, s]), device)
}

/// `(mean, std, fourth central moment)` of each column of `samples` (one row per pass).
fn moments(samples: &[Vec<f64>]) -> Vec<(f64, f64, f64)> {
    let n = samples.len() as f64;
    (0..samples[0].len())
        .map(|j| {
            let mean = samples.iter().map(|s| s[j]).sum::<f64>() / n;
            let m = |p: i32| samples.iter().map(|s| (s[j] - mean).powi(p)).sum::<f64>() / n;
            (mean, m(2).sqrt(), m(4))
        })
        .collect()
}

gampen_testing::backend_tests! {
    fn means_come_back_in_gampen_units(device) {
        let r = reference();
        let (model, labels) = import(device);
        assert_eq!(model.config().dropout, 0.0004);
        let raw = to_vec(model.forward(inputs(device)));
        let expected_raw = rows(&r["raw"]);
        let means = rows(&r["means"]);
        for (g, (want, raw_want)) in means.iter().zip(&expected_raw).enumerate() {
            let mu: Vec<f64> = raw[g * 9..g * 9 + 3].iter().map(|&v| v as f64).collect();
            for k in 0..3 {
                assert!((mu[k] - raw_want[k]).abs() < 1e-4, "galaxy {g} raw {k}: {} vs {}", mu[k], raw_want[k]);
            }
            let got = labels.inverse(&mu);
            for k in 0..3 {
                // B/T can snap to exactly 0 or 1: then it must be exact.
                let ok = if want[k] == 0.0 || want[k] == 1.0 {
                    got[k] == want[k]
                } else {
                    ((got[k] - want[k]) / want[k]).abs() < 1e-4
                };
                assert!(ok, "galaxy {g} parameter {k}: {} vs GaMPEN {}", got[k], want[k]);
            }
        }
    }

    fn mc_spread_at_the_published_rate_matches_pytorch(device) {
        let r = reference();
        let (mut model, _) = import(device);
        model.set_mc_dropout(true);
        device.seed(17);
        // 1000 passes per galaxy: 5 batches of each galaxy repeated 200 times.
        let (reps, rounds) = (200, 5);
        let h = model.deterministic(inputs(device));
        let [b, c, hh, ww] = h.dims();
        let h = h.unsqueeze_dim::<5>(0).repeat_dim(0, reps).reshape([reps * b, c, hh, ww]);
        let mut passes: Vec<Vec<Vec<f64>>> = vec![Vec::new(); b];
        for _ in 0..rounds {
            let out = to_vec(model.stochastic(h.clone()));
            for (row, chunk) in out.chunks(9).enumerate() {
                passes[row % b].push(chunk.iter().map(|&v| v as f64).collect());
            }
        }
        let (mean_t, std_t, m4_t) = (rows(&r["mc"]["mean"]), rows(&r["mc"]["std"]), rows(&r["mc"]["m4"]));
        let n_t = r["mc"]["passes"].as_f64().unwrap();
        let n = (reps * rounds) as f64;
        let mut worst = 0.0f64;
        for g in 0..b {
            for (k, (mean, std, m4)) in moments(&passes[g]).into_iter().enumerate() {
                let (mt, st, m4t) = (mean_t[g][k], std_t[g][k], m4_t[g][k]);
                // Standard errors of a mean and of a std (delta method on the variance, with
                // the fourth moment: the rare-drop tails at p = 4e-4 are far from normal).
                let se_mean = (std * std / n + st * st / n_t).sqrt();
                let se_std = (((m4 - std.powi(4)) / n).max(0.0).sqrt() / (2.0 * std)).hypot(
                    ((m4t - st.powi(4)) / n_t).max(0.0).sqrt() / (2.0 * st),
                );
                assert!((mean - mt).abs() <= 5.0 * se_mean, "galaxy {g} output {k}: MC mean {mean} vs torch {mt} (se {se_mean})");
                assert!((std - st).abs() <= 5.0 * se_std, "galaxy {g} output {k}: MC std {std} vs torch {st} (se {se_std})");
                worst = worst.max((std - st).abs() / se_std);
            }
        }
        eprintln!("MC spread at dropout 0.0004: worst |std diff| = {worst:.2} standard errors");
    }

    fn the_spread_grows_with_the_rate(device) {
        // The scrambling the published rate avoids: at the original classes' default of 0.5
        // the Monte-Carlo spread of every output is many times the published model's.
        let (mut model, _) = import(device);
        model.set_mc_dropout(true);
        device.seed(23);
        let h = model.deterministic(inputs(device));
        let [b, c, hh, ww] = h.dims();
        let reps = 100;
        let h = h.unsqueeze_dim::<5>(0).repeat_dim(0, reps).reshape([reps * b, c, hh, ww]);
        let spread = |model: &gampen::Gampen| -> Vec<f64> {
            let out = to_vec(model.stochastic(h.clone()));
            let passes: Vec<Vec<f64>> = out.chunks(9).map(|c| c.iter().map(|&v| v as f64).collect()).collect();
            moments(&passes).into_iter().map(|(_, std, _)| std).collect()
        };
        let published = spread(&model);
        model.set_dropout(0.5);
        let scrambled = spread(&model);
        let mut least = f64::INFINITY;
        for (k, (p, s)) in published.iter().zip(&scrambled).enumerate() {
            assert!(*s > 5.0 * p, "output {k}: std {s} at 0.5 vs {p} at 0.0004");
            least = least.min(s / p);
        }
        eprintln!("MC spread at dropout 0.5 is at least {least:.1}x the spread at 0.0004");
    }

    fn the_rate_and_scaling_survive_a_checkpoint(device) {
        let (model, labels) = import(device);
        let tmp = tempfile::tempdir().unwrap();
        let ckpt = tmp.path().join("ckpt");
        checkpoint::save(&model, Some(&labels), &ckpt).unwrap();
        let (back, back_labels) = checkpoint::load(&ckpt, device).unwrap();
        assert_eq!(back.config().dropout, 0.0004);
        // serde_json (without its `float_roundtrip` feature) may read a value back one unit
        // in the last place off: compare to that precision.
        let back_labels = back_labels.expect("labels.json saved");
        assert_eq!(back_labels.column_names(), labels.column_names());
        for (a, b) in back_labels.columns.iter().zip(&labels.columns) {
            let close = |x: f64, y: f64| (x - y).abs() <= 4.0 * f64::EPSILON * y.abs();
            assert!(close(a.scaling.offset, b.scaling.offset) && close(a.scaling.scale, b.scaling.scale), "{a:?} vs {b:?}");
            match (&a.transform, &b.transform) {
                (Transform::LogitSnap { lower: l1, upper: u1 }, Transform::LogitSnap { lower: l2, upper: u2 }) => {
                    assert!(close(*l1, *l2) && close(*u1, *u2), "{a:?} vs {b:?}");
                }
                (x, y) => assert_eq!(x, y),
            }
        }
    }
}

#[test]
fn the_scaler_is_gampens() {
    let r = reference();
    let labels = preset().label_transform(&dir().join("scaling")).unwrap();
    let (mean, scale) = (floats(&r["scaler"]["mean"]), floats(&r["scaler"]["scale"]));
    assert_eq!(labels.column_names(), PublishedModel::targets());
    for (k, c) in labels.columns.iter().enumerate() {
        assert!(
            ((c.scaling.offset - mean[k]) / mean[k]).abs() < 1e-12,
            "{c:?}"
        );
        assert!(
            ((c.scaling.scale - scale[k]) / scale[k]).abs() < 1e-12,
            "{c:?}"
        );
    }
    let (lower, upper) = (
        r["scaler"]["snap_lower"].as_f64().unwrap(),
        r["scaler"]["snap_upper"].as_f64().unwrap(),
    );
    // pandas' default CSV float parser is not always correctly rounded, so GaMPEN's limits
    // can sit one unit in the last place from ours: equal to that precision.
    let Transform::LogitSnap { lower: l, upper: u } = labels.columns[0].transform else {
        panic!("B/T must snap: {:?}", labels.columns[0].transform)
    };
    assert!(
        (l - lower).abs() <= 2.0 * f64::EPSILON && (u - upper).abs() <= 2.0 * f64::EPSILON,
        "{l} {u} vs {lower} {upper}"
    );
    assert_eq!(labels.columns[1].transform, Transform::Ln);
    assert_eq!(labels.columns[2].transform, Transform::Ln);
}

#[test]
fn bt_snaps_exactly_where_gampen_does() {
    let r = reference();
    let labels = preset().label_transform(&dir().join("scaling")).unwrap();
    let (scaled, bt) = (floats(&r["snap"]["scaled"]), floats(&r["snap"]["bt"]));
    let mut snapped = 0;
    for (z, want) in scaled.iter().zip(&bt) {
        let got = labels.inverse(&[*z, 0.0, 0.0])[0];
        if *want == 0.0 || *want == 1.0 {
            assert_eq!(got, *want, "scaled {z}");
            snapped += 1;
        } else {
            assert!(
                (got - want).abs() < 1e-12,
                "scaled {z}: {got} vs GaMPEN {want}"
            );
        }
    }
    assert_eq!(snapped, 4, "the fixture covers both limits on both sides");
}

/// A copy of the fixture's scaling data, changed by `edit(dir)`.
fn scaling_copy(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = dir().join("scaling");
    std::fs::create_dir(tmp.path().join("splits")).unwrap();
    std::fs::copy(src.join("info.csv"), tmp.path().join("info.csv")).unwrap();
    for split in ["train", "devel", "test"] {
        let name = format!("splits/balanced-dev-{split}.csv");
        std::fs::copy(src.join(&name), tmp.path().join(&name)).unwrap();
    }
    edit(tmp.path());
    tmp
}

/// The error of importing the fixture with `preset`, the narrow layout and `scaling`.
fn import_error(preset: &PublishedModel, scaling: &Path) -> String {
    let r = reference();
    let file = dir().join(r["file"].as_str().unwrap());
    let err =
        import_published_with_config(preset, &narrow(preset, &r), &file, scaling, &Device::flex())
            .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

#[test]
fn errors_are_one_line_naming_the_file() {
    // A state dict of another preset: its cutout size shows in the localisation net.
    let err = import_error(
        PublishedModel::find("sim_g_0_025").unwrap(),
        &dir().join("scaling"),
    );
    assert!(err.contains("sim_i_050_075_narrow.pt"), "{err}");
    assert!(err.contains("not the published sim_g_0_025 model"), "{err}");
    assert!(err.contains("cutout size"), "{err}");
    // Scaling data without the split the preset was scaled on.
    let tmp =
        scaling_copy(|d| std::fs::remove_file(d.join("splits/balanced-dev-train.csv")).unwrap());
    let err = import_error(preset(), tmp.path());
    assert!(err.contains("balanced-dev-train.csv"), "{err}");
    // A real-data preset looks for balanced-dev2.
    let err = import_error(
        PublishedModel::find("i_050_075").unwrap(),
        &dir().join("scaling"),
    );
    assert!(err.contains("balanced-dev2-train.csv"), "{err}");
    // A target column missing from the split.
    let tmp = scaling_copy(|d| {
        let p = d.join("splits/balanced-dev-train.csv");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("ln_R_e_asec", "lnRe");
        std::fs::write(&p, text).unwrap();
    });
    let err = import_error(preset(), tmp.path());
    assert!(
        err.contains("balanced-dev-train.csv") && err.contains("ln_R_e_asec"),
        "{err}"
    );
    // No info.csv for the B/T snap limits.
    let tmp = scaling_copy(|d| std::fs::remove_file(d.join("info.csv")).unwrap());
    let err = import_error(preset(), tmp.path());
    assert!(err.contains("info.csv"), "{err}");
    // A non-number in a target column names the row.
    let tmp = scaling_copy(|d| {
        let p = d.join("splits/balanced-dev-train.csv");
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let cols: Vec<&str> = lines[0].split(',').collect();
        let at = cols
            .iter()
            .position(|c| *c == "ln_total_flux_adus")
            .unwrap();
        let mut cells: Vec<String> = lines[3].split(',').map(String::from).collect();
        cells[at] = "n/a".into();
        lines[3] = cells.join(",");
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    });
    let err = import_error(preset(), tmp.path());
    assert!(
        err.contains("balanced-dev-train.csv") && err.contains("ln_total_flux_adus"),
        "{err}"
    );
    assert!(err.contains('3'), "names the row: {err}");
}

#[test]
fn scaling_data_points_at_gampens_files() {
    let data = ScalingData {
        dir: PathBuf::from("scaling"),
        slug: "balanced-dev2".into(),
    };
    assert_eq!(
        data.train_split(),
        Path::new("scaling/splits/balanced-dev2-train.csv")
    );
    assert_eq!(data.info_csv(), Path::new("scaling/info.csv"));
}
