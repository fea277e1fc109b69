//! 2-D convolution on every backend against PyTorch (`tools/fixtures_conv.py`): the output
//! and the input, weight and bias gradients, over the shapes where a CPU convolution's tiling
//! can go wrong (flex's GEMM path in vendor/burn-flex among them), and the gradients against
//! finite differences of the loss.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use gampen_testing::generated::{
    assert_close_verbose, central_differences, generated, pair, probe_indices, usize_list,
};
use gampen_testing::{fixture, flat, to_vec};
use serde_json::Value;

fn options(case: &Value) -> ConvOptions<2> {
    let padding = &case["padding"];
    ConvOptions::new_with_padding(
        pair(&case["stride"]),
        [0, 1].map(|i| {
            let [begin, end] = pair(&padding[i]);
            (begin, end)
        }),
        pair(&case["dilation"]),
        case["groups"].as_u64().expect("groups") as usize,
    )
}

/// The stored values of a fixture tensor (every `stride`-th flat index) against `actual`.
fn check(actual: Tensor<4>, stored: &Value, atol: f32, what: &str) {
    let stride = stored["stride"].as_u64().expect("stride") as usize;
    let picked: Vec<f32> = to_vec(actual).into_iter().step_by(stride).collect();
    assert_close_verbose(&picked, &flat(&stored["values"]), atol, 1e-4, what);
}

fn forward(case: &Value, x: Tensor<4>, weight: Tensor<4>, device: &Device) -> Tensor<4> {
    let bias = (!case["bias"].is_null()).then(|| generated::<1>(&case["bias"], device));
    conv2d(x, weight, bias, options(case))
}

/// The fixture's loss, `sum(conv(x) * grad_output)`.
fn loss(case: &Value, x: Tensor<4>, weight: Tensor<4>, device: &Device) -> f32 {
    let grad_output = generated::<4>(&case["grad_output"], device);
    (forward(case, x, weight, device) * grad_output)
        .sum()
        .into_scalar::<f32>()
}

fn matches_torch(case: &Value, device: &Device) {
    let name = case["name"].as_str().expect("name");
    let ad = device.clone().autodiff();
    let x = generated::<4>(&case["x"], &ad).require_grad();
    let weight = generated::<4>(&case["weight"], &ad).require_grad();
    let bias = (!case["bias"].is_null()).then(|| generated::<1>(&case["bias"], &ad).require_grad());
    let y = conv2d(x.clone(), weight.clone(), bias.clone(), options(case));
    let shape: Vec<usize> = y.dims().to_vec();
    let expected = usize_list(&case["output_shape"]);
    assert_eq!(shape, expected, "{name}: output shape");
    check(
        y.clone().inner(),
        &case["output"],
        2e-5,
        &format!("{name} output"),
    );
    let grads = (y * generated::<4>(&case["grad_output"], &ad))
        .sum()
        .backward();
    let dx = x.grad(&grads).expect("input gradient");
    check(dx, &case["grad_x"], 2e-5, &format!("{name} d/dx"));
    let dw = weight.grad(&grads).expect("weight gradient");
    check(dw, &case["grad_weight"], 5e-4, &format!("{name} d/dweight"));
    if let Some(bias) = bias {
        let db = bias
            .grad(&grads)
            .expect("bias gradient")
            .reshape([1, 1, 1, -1]);
        check(db, &case["grad_bias"], 2e-4, &format!("{name} d/dbias"));
    }
}

/// Central differences of the loss at a few elements of `x` and of the weight. The loss is
/// linear in each, so a step of 0.5 leaves only f32 rounding of the loss.
fn matches_finite_differences(case: &Value, device: &Device) {
    let name = case["name"].as_str().expect("name");
    let ad = device.clone().autodiff();
    let x = generated::<4>(&case["x"], &ad).require_grad();
    let weight = generated::<4>(&case["weight"], &ad).require_grad();
    let grad_output = generated::<4>(&case["grad_output"], &ad);
    let grads = (forward(case, x.clone(), weight.clone(), &ad) * grad_output)
        .sum()
        .backward();
    let analytic = [
        to_vec(x.grad(&grads).expect("input gradient")),
        to_vec(weight.grad(&grads).expect("weight gradient")),
    ];
    for (which, spec) in ["x", "weight"].iter().enumerate() {
        let base = to_vec(generated::<4>(&case[*spec], device));
        let dims: [usize; 4] = generated::<4>(&case[*spec], device).dims();
        let picked = probe_indices(7 + which as u64, 12, base.len());
        // The loss is linear in each input, so a step of 0.5 leaves only f32 rounding.
        let numeric = central_differences(&base, &picked, 0.5, |v| {
            let t = Tensor::<4>::from_data(TensorData::new(v, dims), device);
            let (x, w) = if which == 0 {
                (t, generated::<4>(&case["weight"], device))
            } else {
                (generated::<4>(&case["x"], device), t)
            };
            loss(case, x, w, device) as f64
        });
        let analytic: Vec<f32> = picked.iter().map(|&i| analytic[which][i]).collect();
        assert_close_verbose(
            &analytic,
            &numeric,
            3e-4,
            1e-4,
            &format!("{name} d/d{spec} vs FD"),
        );
    }
}

fn cases() -> Vec<Value> {
    fixture("conv2d_cases")["cases"]
        .as_array()
        .expect("cases")
        .clone()
}

gampen_testing::backend_tests! {
    fn conv2d_and_its_gradients_match_torch(device) {
        for case in cases() {
            matches_torch(&case, device);
        }
    }

    fn conv2d_gradients_match_finite_differences(device) {
        for case in cases() {
            let name = case["name"].as_str().expect("name");
            let checked = [
                "strided_dilated",
                "asymmetric_padding",
                "groups",
                "multi_image_tiles",
                "wide_3x3_odd_valid",
                "wide_3x3_wide_padding",
            ];
            if checked.contains(&name) {
                matches_finite_differences(&case, device);
            }
        }
    }
}
