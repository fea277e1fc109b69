//! `gampen train --init-backbone`: a tiny run started from a torchvision-layout VGG-16 state
//! dict (fixtures/torchvision, `tools/fixtures_torchvision.py`) keeps the file's convolutions,
//! a resumed run does not re-apply it, and files that do not fit fail with one line.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use gampen::import::{init_backbone_from_torchvision, TorchvisionInit};
use gampen::{checkpoint, Backbone, Gampen};

mod common;
use common::*;

fn torchvision_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/torchvision/{name}"))
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 weights")
}

/// Every convolution's weight and bias, in order.
fn convs(model: &Gampen) -> Vec<Vec<f32>> {
    let Backbone::Vgg(vgg) = &model.backbone else {
        panic!("VGG expected")
    };
    vgg.blocks
        .iter()
        .flat_map(|b| {
            let bias = b.conv.bias.as_ref().expect("conv bias").val();
            [values(b.conv.weight.val()), values(bias)]
        })
        .collect()
}

/// A simulated data directory of 30 galaxies with a "tiny" split.
fn tiny_data(data: &Path) {
    ok(&[
        "simulate",
        "--out",
        s(data),
        "--count",
        "30",
        "--size",
        "48",
        "--seed",
        "5",
    ]);
    ok(&[
        "splits",
        "--data",
        s(data),
        "--fractions",
        "0.5,0.3,0.2",
        "--name",
        "tiny",
        "--unbalanced",
        "--seed",
        "1",
    ]);
}

/// `gampen train` of the fixture's layout from `init`: VGG-16 at 1/32 width with an 8-8
/// classifier, 3 channels. The convolutions are frozen so that the checkpoint must still
/// hold the file's weights.
fn train_from(data: &Path, run: &Path, epochs: &str, init: &Path) -> std::process::Output {
    gampen(&[
        "train",
        "--data",
        s(data),
        "--split",
        "tiny",
        "--out",
        s(run),
        "--preset",
        "original",
        "--cutout-size",
        "40",
        "--channels",
        "3",
        "--width",
        "0.03125",
        "--hidden",
        "8,8",
        "--init-backbone",
        s(init),
        "--init-classifier",
        "--freeze-backbone",
        "--epochs",
        epochs,
        "--batch-size",
        "8",
        "--optimizer",
        "adam",
        "--lr",
        "1e-3",
    ])
}

#[test]
fn train_starts_from_torchvision_weights_once() {
    let root = tempfile::tempdir().expect("temp dir");
    let (data, run) = (root.path().join("data"), root.path().join("run"));
    tiny_data(&data);
    let file = torchvision_file("vgg16_narrow.pth");
    let train = |epochs: &str, init: &Path| train_from(&data, &run, epochs, init);
    let first = train("1", &file);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains("backbone initialised from"), "{stderr}");

    let device = Device::flex();
    let (trained, _) = checkpoint::load(&run, &device).expect("the run's best checkpoint");
    let fresh = trained.config().init(&device).expect("model");
    let expected =
        init_backbone_from_torchvision(fresh, &file, &TorchvisionInit::new().with_classifier(true))
            .expect("the fixture fits");
    assert!(
        convs(&trained) == convs(&expected),
        "the checkpoint lost the file's convolutions"
    );

    // Rerunning the command resumes the run: its weights stay, the file is not even read.
    let resumed = train("2", &torchvision_file("absent.pth"));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(
        stderr.contains("note:") && stderr.contains("not applied"),
        "{stderr}"
    );
    assert!(run.join("checkpoints/epoch-0002").is_dir());

    other_depths_fail_with_one_line(root.path(), &data, &file);
}

/// A backbone of another depth (the small preset's batch-normalised VGG-11) and a file of
/// another depth each fail with one line naming the file.
fn other_depths_fail_with_one_line(root: &Path, data: &Path, file: &Path) {
    let msg = fails(&[
        "train",
        "--data",
        s(data),
        "--split",
        "tiny",
        "--out",
        s(&root.join("r2")),
        "--init-backbone",
        s(file),
    ]);
    assert!(
        msg.contains("vgg16_narrow.pth") && msg.contains("batch"),
        "{msg}"
    );
    let vgg11 = torchvision_file("vgg11_narrow.pth");
    let msg = fails(&[
        "train",
        "--data",
        s(data),
        "--split",
        "tiny",
        "--out",
        s(&root.join("r3")),
        "--preset",
        "original",
        "--cutout-size",
        "40",
        "--width",
        "0.03125",
        "--hidden",
        "8,8",
        "--init-backbone",
        s(&vgg11),
    ]);
    assert!(
        msg.contains("vgg11_narrow.pth") && msg.contains("features.2.weight"),
        "{msg}"
    );
}
