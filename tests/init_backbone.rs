//! Starting the backbone from torchvision's VGG weights: the loaded features and classifier
//! against torchvision's own forward pass (reference from PyTorch,
//! `tools/fixtures_torchvision.py`), the rest of the model untouched, and files that do not fit.
// The shared `backend_tests!` macro also runs every test on the deprecated ndarray backend.
#![allow(deprecated)]

use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use gampen::gampen_backbone::{Vgg, VggVariant};
use gampen::import::{init_backbone_from_torchvision, TorchvisionInit};
use gampen::{Backbone, BackboneSpec, Gampen, GampenConfig, GampenError};
use gampen_testing::{fixtures_dir, flat, lcg, to_vec, Value};

/// Thirteen 3x3 convolutions in f32, measured at ~1e-7 relative: every element must satisfy
/// `|rust - torch| <= 1e-5 + 1e-5 |torch|`.
const TOL: f32 = 1e-5;

fn dir() -> PathBuf {
    fixtures_dir().join("torchvision")
}

fn outputs() -> Value {
    let text = std::fs::read_to_string(dir().join("outputs.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

fn narrow_file() -> PathBuf {
    dir().join("vgg16_narrow.pth")
}

/// A model whose backbone has the fixture's layout: VGG-16 at 1/32 width, hidden 8-8.
fn config(width: f64, hidden: Vec<usize>) -> GampenConfig {
    GampenConfig::new(64, 3, vec!["bt".into(), "r_e".into(), "flux".into()])
        .with_stn_channels([4, 6])
        .with_backbone(BackboneSpec::Vgg {
            variant: VggVariant::Vgg16,
            width,
            batch_norm: false,
            hidden,
        })
}

fn narrow_model(device: &Device) -> Gampen {
    let fx = outputs();
    let hidden = serde_json::from_value(fx["hidden"].clone()).unwrap();
    config(fx["width"].as_f64().unwrap(), hidden)
        .init(device)
        .unwrap()
}

fn inputs(fx: &Value, device: &Device) -> Tensor<4> {
    let shape: [usize; 4] = serde_json::from_value(fx["input"]["shape"].clone()).unwrap();
    let seed = fx["input"]["seed"].as_u64().unwrap();
    let v: Vec<f32> = lcg(seed, shape.iter().product())
        .into_iter()
        .map(|x| x.abs() * 2.0)
        .collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn vgg(model: &Gampen) -> &Vgg {
    match &model.backbone {
        Backbone::Vgg(v) => v,
        Backbone::GamorNet(_) => panic!("VGG expected"),
    }
}

/// torchvision's `features`: `Vgg` exposes no features-only pass, so the same chain from its
/// public parts (conv, ReLU, max-pool; dropout is the identity at inference).
fn features(vgg: &Vgg, x: Tensor<4>) -> Tensor<4> {
    vgg.blocks.iter().fold(x, |h, block| {
        assert!(block.norm.is_none());
        let h = relu(block.conv.forward(h));
        if block.pool {
            vgg.max_pool.forward(h)
        } else {
            h
        }
    })
}

fn conv_values(conv: &Conv2d) -> Vec<Vec<f32>> {
    let bias = conv
        .bias
        .as_ref()
        .map(|b| to_vec(b.val()))
        .unwrap_or_default();
    vec![to_vec(conv.weight.val()), bias]
}

fn linear_values(linear: &Linear) -> Vec<Vec<f32>> {
    let bias = linear
        .bias
        .as_ref()
        .map(|b| to_vec(b.val()))
        .unwrap_or_default();
    vec![to_vec(linear.weight.val()), bias]
}

/// Every weight outside the backbone's convolutions, by part.
fn other_weights(model: &Gampen) -> [Vec<Vec<f32>>; 3] {
    let loc = &model.stn.as_ref().expect("model with STN").loc;
    let stn = [
        conv_values(&loc.conv1),
        conv_values(&loc.conv2),
        linear_values(&loc.fc1),
        linear_values(&loc.fc2),
    ]
    .concat();
    let hidden = vgg(model).hidden.iter().flat_map(linear_values).collect();
    [stn, hidden, linear_values(&vgg(model).head)]
}

/// Largest `|a - e|`, after asserting `|a - e| <= TOL (1 + |e|)` everywhere.
fn compare(actual: &[f32], expected: &[f32], what: &str) -> f32 {
    gampen_testing::assert_close(actual, expected, TOL, TOL, what);
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

fn load(model: Gampen, path: &Path, classifier: bool) -> Result<Gampen, GampenError> {
    init_backbone_from_torchvision(
        model,
        path,
        &TorchvisionInit::new().with_classifier(classifier),
    )
}

gampen_testing::backend_tests! {
    fn features_match_torchvision_and_nothing_else_moves(device) {
        let fx = outputs();
        let model = narrow_model(device);
        let before = other_weights(&model);
        let model = load(model, &narrow_file(), false).unwrap();
        let x = inputs(&fx, device);
        let f = features(vgg(&model), x);
        let shape: Vec<usize> = serde_json::from_value(fx["features_shape"].clone()).unwrap();
        assert_eq!(f.dims().to_vec(), shape);
        let err = compare(&to_vec(f), &flat(&fx["features"]), "features");
        let scale = flat(&fx["features"]).iter().fold(0.0f32, |m, v| m.max(v.abs()));
        eprintln!("features: max |rust - torch| = {err:.2e} (max |torch| = {scale:.2})");
        let [stn, hidden, head] = other_weights(&model);
        assert!(stn == before[0], "the STN changed");
        assert!(hidden == before[1], "the classifier changed without `classifier`");
        assert!(head == before[2], "the output layer changed");
    }

    fn classifier_matches_torchvision(device) {
        let fx = outputs();
        let model = narrow_model(device);
        let stn_before = other_weights(&model)[0].clone();
        let mut model = load(model, &narrow_file(), true).unwrap();
        assert!(other_weights(&model)[0] == stn_before, "the STN changed");
        // The fixture's 9-output head on top of the loaded hidden layers, so that the whole
        // backbone forward pass (dropout off) compares with torchvision's.
        let Backbone::Vgg(v) = &mut model.backbone else { unreachable!() };
        let w = TensorData::new(flat(&fx["head"]["weight"]), v.head.weight.val().dims());
        let b = flat(&fx["head"]["bias"]);
        let b = TensorData::new(b.clone(), [b.len()]);
        v.head.weight = Param::from_tensor(Tensor::from_data(w, device));
        v.head.bias = Some(Param::from_tensor(Tensor::from_data(b, device)));
        let y = model.backbone.forward(inputs(&fx, device));
        let err = compare(&to_vec(y), &flat(&fx["output"]), "backbone output");
        eprintln!("backbone with classifier: max |rust - torch| = {err:.2e}");
    }
}

/// The error's text, after checking it is one line that names the file.
fn one_line_error(result: Result<Gampen, GampenError>, path: &Path) -> String {
    let msg = result.expect_err("the load must fail").to_string();
    assert!(!msg.contains('\n'), "not one line: {msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "file not named: {msg}"
    );
    msg
}

#[test]
fn files_that_do_not_fit_name_the_file_and_key() {
    let device = Device::flex();
    let fx = outputs();
    let narrow = narrow_file();

    // A VGG-11 state dict for a VGG-16 backbone.
    let vgg11 = dir().join(fx["mismatch_file"].as_str().unwrap());
    let msg = one_line_error(load(narrow_model(&device), &vgg11, false), &vgg11);
    assert!(
        msg.contains("features.2.weight") && msg.contains("Vgg11") && msg.contains("Vgg16"),
        "{msg}"
    );

    // The right depth at another width.
    let wide = config(1.0 / 16.0, vec![8, 8]).init(&device).unwrap();
    let msg = one_line_error(load(wide, &narrow, false), &narrow);
    assert!(
        msg.contains("features.0.weight") && msg.contains("width"),
        "{msg}"
    );

    // The convolutions fit, the classifier does not (but is fine when not asked for).
    let other_hidden = config(1.0 / 32.0, vec![16, 16]).init(&device).unwrap();
    let msg = one_line_error(load(other_hidden.clone(), &narrow, true), &narrow);
    assert!(msg.contains("classifier.0.weight"), "{msg}");
    load(other_hidden, &narrow, false).unwrap();

    // One input channel against torchvision's three.
    let mut mono = config(1.0 / 32.0, vec![8, 8]);
    mono.channels = 1;
    let mono = mono.init(&device).unwrap();
    let msg = one_line_error(load(mono, &narrow, false), &narrow);
    assert!(
        msg.contains("features.0.weight") && msg.contains("channels"),
        "{msg}"
    );

    // Batch-normalised backbone (the small preset).
    let small = GampenConfig::gampen_small(vec!["bt".into()])
        .init(&device)
        .unwrap();
    let msg = one_line_error(load(small, &narrow, false), &narrow);
    assert!(msg.contains("batch"), "{msg}");

    // A GaMPEN state dict (`module.vgg.features.N`) is not a torchvision one.
    let gampen_file = fixtures_dir().join("import").join("vgg16_w_stn_oc_drp.pt");
    let msg = one_line_error(
        load(narrow_model(&device), &gampen_file, false),
        &gampen_file,
    );
    assert!(msg.contains("gampen import"), "{msg}");

    let absent = dir().join("absent.pth");
    let msg = one_line_error(load(narrow_model(&device), &absent, false), &absent);
    assert!(msg.contains("no such file"), "{msg}");
}
