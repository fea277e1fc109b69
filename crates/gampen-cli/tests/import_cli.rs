//! `gampen import` from the command line: the published-model path and its errors, each one
//! line naming the file or flag.

mod common;
use common::*;

#[test]
fn published_import_refuses_a_state_dict_of_other_shapes() {
    // The fixture has the published key layout at narrow widths: the full-width preset must
    // refuse it with one line naming the file and the preset.
    let out = tempfile::tempdir().unwrap();
    let state = fixtures().join("published/sim_i_050_075_narrow.pt");
    let scaling = fixtures().join("published/scaling");
    let err = fails(&[
        "import",
        "--published",
        "sim_i_050_075",
        "--state-dict",
        s(&state),
        "--scaling-data",
        s(&scaling),
        "--out",
        s(&out.path().join("model")),
    ]);
    assert!(err.contains("sim_i_050_075_narrow.pt"), "{err}");
    assert!(
        err.contains("not the published sim_i_050_075 model"),
        "{err}"
    );
    assert!(
        !out.path().join("model").exists(),
        "nothing written on failure"
    );
}

#[test]
fn published_flags_are_checked() {
    let state = fixtures().join("published/sim_i_050_075_narrow.pt");
    let scaling = fixtures().join("published/scaling");
    let err = fails(&[
        "import",
        "--published",
        "i_050_07",
        "--state-dict",
        s(&state),
        "--scaling-data",
        s(&scaling),
        "--out",
        "unused",
    ]);
    assert!(
        err.contains("i_050_075") && err.contains("sim_g_0_025"),
        "{err}"
    );
    // The published rate is part of the preset: --dropout is refused beside it.
    let out = gampen(&[
        "import",
        "--published",
        "i_050_075",
        "--dropout",
        "0.5",
        "--state-dict",
        s(&state),
        "--scaling-data",
        s(&scaling),
        "--out",
        "unused",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dropout"));
    // Without --scaling-data a published import cannot unscale.
    let out = gampen(&[
        "import",
        "--published",
        "i_050_075",
        "--state-dict",
        s(&state),
        "--out",
        "unused",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scaling-data"));
}

#[test]
fn a_custom_import_needs_its_dropout_rate() {
    let state = fixtures().join("import/vgg16_w_stn_oc_drp.pt");
    let out = gampen(&[
        "import",
        "--state-dict",
        s(&state),
        "--cutout-size",
        "40",
        "--out",
        "unused",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--dropout"), "{stderr}");
    let err = fails(&[
        "import",
        "--state-dict",
        s(&state),
        "--cutout-size",
        "40",
        "--dropout",
        "1.5",
        "--out",
        "unused",
    ]);
    assert!(err.contains("--dropout"), "{err}");
}
