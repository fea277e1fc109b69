//! Importing GaMPEN's PyTorch state dicts: outputs against PyTorch (reference from PyTorch,
//! `tools/fixtures_import.py`), MC-dropout statistics, broken state dicts, and the round trip
//! through a native checkpoint.
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#![allow(deprecated)]

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use gampen::gampen_backbone::VggVariant;
use gampen::import::{self, OriginalArch};
use gampen::{checkpoint, BackboneSpec, GampenConfig, GampenError};
use gampen_testing::{fixtures_dir, flat, lcg, to_vec, Value};

/// Raw outputs with dropout off: float32 through ~20 layers, errors measured at ~1e-6.
const ATOL: f32 = 1e-4;
const RTOL: f32 = 1e-4;

fn dir() -> PathBuf {
    fixtures_dir().join("import")
}

fn outputs() -> Value {
    let path = dir().join("outputs.json");
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

fn params() -> Vec<String> {
    vec![
        "custom_logit_bt".into(),
        "ln_R_e_asec".into(),
        "ln_total_flux_adus".into(),
    ]
}

/// The narrow network of a fixture entry (same layout as the published one).
fn config(arch: OriginalArch, entry: &Value) -> GampenConfig {
    let stn: Vec<usize> = serde_json::from_value(entry["stn_channels"].clone()).unwrap();
    arch.config(40, params())
        .with_stn_channels([stn[0], stn[1]])
        .with_backbone(BackboneSpec::Vgg {
            variant: VggVariant::Vgg16,
            width: entry["width"].as_f64().unwrap(),
            batch_norm: false,
            hidden: serde_json::from_value(entry["hidden"].clone()).unwrap(),
        })
}

fn inputs(device: &Device) -> Tensor<4> {
    let v: Vec<f32> = lcg(7, 3 * 3 * 40 * 40)
        .into_iter()
        .map(|x| x.abs() * 2.0)
        .collect();
    Tensor::from_data(TensorData::new(v, [3, 3, 40, 40]), device)
}

/// Largest `|a - e|`, after asserting `|a - e| <= atol + rtol |e|` everywhere.
fn compare(actual: &[f32], expected: &[f32], what: &str) -> f32 {
    gampen_testing::assert_close(actual, expected, ATOL, RTOL, what);
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

fn import_fixture(arch: OriginalArch, device: &Device) -> gampen::Gampen {
    let all = outputs();
    let entry = &all["models"][arch.name()];
    let path = dir().join(entry["file"].as_str().unwrap());
    import::import_pytorch_with_config(&path, arch, &config(arch, entry), device)
        .unwrap_or_else(|e| panic!("{arch}: {e}"))
}

gampen_testing::backend_tests! {
    fn every_class_matches_pytorch_with_dropout_off(device) {
        let all = outputs();
        for arch in OriginalArch::ALL {
            let entry = &all["models"][arch.name()];
            let model = import_fixture(arch, device);
            let x = inputs(device);
            let err = compare(&to_vec(model.forward(x.clone())), &flat(&entry["output"]), arch.name());
            if arch.stn_head().is_some() {
                let theta_err = compare(&to_vec(model.theta(x)), &flat(&entry["theta"]), "theta");
                eprintln!("{arch}: max |output - torch| = {err:.2e}, theta {theta_err:.2e}");
            } else {
                eprintln!("{arch}: max |output - torch| = {err:.2e}");
            }
        }
    }

    fn mc_dropout_statistics_match_pytorch(device) {
        let all = outputs();
        let entry = &all["models"]["vgg16_w_stn_oc_drp"];
        let mut model = import_fixture(OriginalArch::Vgg16WStnOcDrp, device);
        model.set_mc_dropout(true);
        // Seeded so that the test is reproducible; the tolerances hold for any seed.
        device.seed(11);
        // 1000 passes per galaxy: 5 batches of each galaxy repeated 200 times.
        let (reps, rounds) = (200, 5);
        let h = model.deterministic(inputs(device));
        let [_, c, hh, ww] = h.dims();
        let h = h.unsqueeze_dim::<5>(0).repeat_dim(0, reps).reshape([reps * 3, c, hh, ww]);
        let mut samples: Vec<Vec<f32>> = vec![Vec::new(); 3 * 9];
        for _ in 0..rounds {
            let out = to_vec(model.stochastic(h.clone()));
            for (i, v) in out.iter().enumerate() {
                let (galaxy, k) = ((i / 9) % 3, i % 9);
                samples[galaxy * 9 + k].push(*v);
            }
        }
        let n = (reps * rounds) as f64;
        let n_torch = entry["mc"]["passes"].as_f64().unwrap();
        let (mean_t, std_t) = (flat(&entry["mc"]["mean"]), flat(&entry["mc"]["std"]));
        let (mut worst_mean, mut worst_std) = (0.0f64, 0.0f64);
        for (j, s) in samples.iter().enumerate() {
            let mean = s.iter().map(|&v| v as f64).sum::<f64>() / n;
            let std = (s.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            let (mt, st) = (mean_t[j] as f64, std_t[j] as f64);
            // Five standard errors of the difference of two Monte-Carlo means, and of two
            // standard deviations (relative error of a std estimate ~ 1 / sqrt(2 N)).
            let mean_tol = 5.0 * st * (1.0 / n + 1.0 / n_torch).sqrt();
            let std_tol = 5.0 * st * (1.0 / (2.0 * n) + 1.0 / (2.0 * n_torch)).sqrt();
            assert!((mean - mt).abs() <= mean_tol, "output {j}: MC mean {mean} vs torch {mt} (tol {mean_tol})");
            assert!((std - st).abs() <= std_tol, "output {j}: MC std {std} vs torch {st} (tol {std_tol})");
            worst_mean = worst_mean.max((mean - mt).abs() / mean_tol * 5.0);
            worst_std = worst_std.max((std - st).abs() / std_tol * 5.0);
        }
        eprintln!("MC dropout: worst |mean diff| = {worst_mean:.2} sigma, |std diff| = {worst_std:.2} sigma");
    }

    fn imported_model_round_trips_through_a_checkpoint(device) {
        let model = import_fixture(OriginalArch::Vgg16WStnOcDrp, device);
        let scaling = tempfile::tempdir().unwrap();
        let csv = scaling.path().join("scaling.csv");
        std::fs::write(
            &csv,
            "parameter,mean,std,snap_lower\ncustom_logit_bt,-0.5,2.0,0.001\nln_R_e_asec,0.2,0.8,\nln_total_flux_adus,9.0,1.5,\n",
        )
        .unwrap();
        let labels = import::gampen_label_transform(&csv, &params()).unwrap();
        let ckpt = scaling.path().join("ckpt");
        checkpoint::save(&model, Some(&labels), &ckpt).unwrap();
        let (back, back_labels) = checkpoint::load(&ckpt, device).unwrap();
        assert_eq!(back_labels.as_ref(), Some(&labels));
        let x = inputs(device);
        assert_eq!(to_vec(back.forward(x.clone())), to_vec(model.forward(x)));
    }
}

#[test]
fn data_parallel_prefix_is_optional_and_keys_follow_the_fixture() {
    // The plain vgg16 fixture has no `module.` prefix, the others have it; both imported
    // above. Here: the key map names exactly the PyTorch keys of each fixture.
    let all = outputs();
    for arch in OriginalArch::ALL {
        let entry = &all["models"][arch.name()];
        let map = import::key_map(arch, &config(arch, entry)).unwrap();
        let mut ours: Vec<String> = map
            .iter()
            .flat_map(|e| [format!("{}.weight", e.torch), format!("{}.bias", e.torch)])
            .collect();
        let mut theirs: Vec<String> = entry["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                k.as_str()
                    .unwrap()
                    .trim_start_matches("module.")
                    .to_string()
            })
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{arch}");
        assert_eq!(
            entry["data_parallel"].as_bool(),
            Some(arch.stn_head().is_some())
        );
    }
}

#[test]
fn published_key_map_shifts_features_for_dropout() {
    let cfg = OriginalArch::Vgg16WStnOcDrp.config(239, params());
    let map = import::key_map(OriginalArch::Vgg16WStnOcDrp, &cfg).unwrap();
    let convs: Vec<&str> = map
        .iter()
        .filter(|e| e.burn.contains("blocks"))
        .map(|e| e.torch.as_str())
        .collect();
    let expected: Vec<String> = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]
        .iter()
        .map(|i| format!("vgg.features.{i}"))
        .collect();
    assert_eq!(convs, expected);
    assert_eq!(map.last().unwrap().torch, "vgg.classifier.6");
    assert_eq!(map.last().unwrap().burn, "backbone.head");
    // torchvision's vgg16 without the inserted dropout.
    let cfg = OriginalArch::Vgg16.config(96, params());
    let map = import::key_map(OriginalArch::Vgg16, &cfg).unwrap();
    let convs: Vec<&str> = map.iter().take(13).map(|e| e.torch.as_str()).collect();
    let expected: Vec<String> = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
        .iter()
        .map(|i| format!("features.{i}"))
        .collect();
    assert_eq!(convs, expected);
    // A config that does not describe the class is refused.
    let err = import::key_map(
        OriginalArch::Vgg16WStnDrp,
        &OriginalArch::Vgg16WStnOcDrp.config(96, params()),
    );
    assert!(matches!(err, Err(GampenError::Config(_))), "{err:?}");
}

#[test]
fn broken_state_dicts_are_errors_naming_the_keys() {
    let device = Device::flex();
    let all = outputs();
    let cfg = config(OriginalArch::Vgg16WStnOcDrp, &all["broken"]);
    let err = import::import_pytorch_with_config(
        &dir().join("broken_missing.pt"),
        OriginalArch::Vgg16WStnOcDrp,
        &cfg,
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("missing") && err.contains("vgg.features.7.bias"),
        "{err}"
    );
    let err = import::import_pytorch_with_config(
        &dir().join("broken_extra.pt"),
        OriginalArch::Vgg16WStnOcDrp,
        &cfg,
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("unexpected") && err.contains("module.vgg.extra.weight"),
        "{err}"
    );
    // Right keys, wrong class: fc_loc.2 has 1 output, the affine head wants 6.
    let entry = &all["models"]["vgg16_w_stn_oc_drp"];
    let err = import::import_pytorch_with_config(
        &dir().join("vgg16_w_stn_oc_drp.pt"),
        OriginalArch::Vgg16WStnDrp,
        &config(OriginalArch::Vgg16WStnDrp, entry),
        &device,
    )
    .unwrap_err();
    assert!(matches!(err, GampenError::Checkpoint { .. }), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("fc_loc.2.weight (-> stn.loc.fc2.weight) has shape [1, 32] in the file, the model expects [6, 32]"), "{err}");
    // Wrong widths and cutout size: shapes differ, with a hint.
    let mut cfg = config(OriginalArch::Vgg16WStnDrp, entry);
    cfg.cutout_size = 48;
    let err = import::import_pytorch_with_config(
        &dir().join("vgg16_w_stn_drp.pt"),
        OriginalArch::Vgg16WStnDrp,
        &cfg,
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "vgg.features.0.weight (-> backbone.blocks.0.conv.weight) has shape [1, 3, 3, 3]"
        ),
        "{err}"
    );
    assert!(err.contains("follows the cutout size"), "{err}");
    assert!(err.contains("more"), "{err}");
    let err = import::import_pytorch(
        &dir().join("no_such.pt"),
        OriginalArch::Vgg16,
        96,
        params(),
        0.5,
        &device,
    );
    assert!(
        matches!(err, Err(GampenError::Checkpoint { .. })),
        "{err:?}"
    );
}

#[test]
fn label_scaling_inverts_like_gampen() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("scaling.json");
    std::fs::write(
        &json,
        r#"[{"parameter": "ln_total_flux_adus", "mean": 9.0, "std": 1.5},
            {"parameter": "custom_logit_bt", "mean": -0.5, "std": 2.0,
             "snap_lower": 0.001, "snap_upper": 0.999},
            {"parameter": "ln_R_e_asec", "mean": 0.2, "std": 0.8}]"#,
    )
    .unwrap();
    let t = import::gampen_label_transform(&json, &params()).unwrap();
    assert_eq!(t.column_names(), params());
    let back = t.inverse(&[0.3, -1.0, 0.5]);
    let expit = |y: f64| 1.0 / (1.0 + (-y).exp());
    assert!((back[0] - expit(0.3 * 2.0 - 0.5)).abs() < 1e-12);
    assert!((back[1] - (-0.8f64 + 0.2).exp()).abs() < 1e-12);
    assert!((back[2] - (0.5f64 * 1.5 + 9.0).exp()).abs() < 1e-9);
    // Far tails snap to exactly 0 and 1.
    assert_eq!(t.inverse(&[-10.0, 0.0, 0.0])[0], 0.0);
    assert_eq!(t.inverse(&[10.0, 0.0, 0.0])[0], 1.0);
    let mag = import::flux_to_magnitude(back[2], import::HSC_ZERO_POINT);
    assert!((mag - (27.0 - 2.5 * back[2].log10())).abs() < 1e-12);
    assert_eq!(
        import::bt_snap_limits(&[0.0, 0.02, 0.5, 0.9, 1.0]),
        (0.01, 0.95)
    );
    assert_eq!(import::bt_snap_limits(&[0.1, 0.5]), (0.0, 1.0));
    // A parameter without scaling, and a bad transform, are errors naming it.
    let err = import::gampen_label_transform(&json, &["sersic_n".to_string()]).unwrap_err();
    assert!(err.to_string().contains("sersic_n"), "{err}");
    let csv = tmp.path().join("bad.csv");
    std::fs::write(&csv, "parameter,mean,std,transform\nbt,0,1,sqrt\n").unwrap();
    let err = import::gampen_label_transform(&csv, &["bt".to_string()]).unwrap_err();
    assert!(err.to_string().contains("sqrt"), "{err}");
    assert_eq!(
        "vgg16_w_stn_at_drp".parse::<OriginalArch>().unwrap(),
        OriginalArch::Vgg16WStnAtDrp
    );
    assert!("vgg19".parse::<OriginalArch>().is_err());
}
