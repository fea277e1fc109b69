//! Batch normalisation on every backend against PyTorch (`tools/fixtures_batch_norm.py`): with
//! the batch's statistics (output, mean, variance, and the input, gamma and beta gradients) and
//! with given statistics, over ranks 2 to 4, short and long planes, a tensor split across
//! threads and activations far from zero; the input gradient also against finite differences.
//! flex runs its fused kernels (vendor/burn-flex/src/ops/batch_norm.rs), the other backends
//! Burn's composition of tensor operations.

use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor, TensorData};
use gampen_testing::generated::{
    assert_close_verbose, central_differences, generated, probe_indices, usize_list,
};
use gampen_testing::{fixture, flat, to_vec};
use serde_json::Value;

/// The stored values of a fixture tensor (every `stride`-th flat index) against `actual`.
fn check(actual: Vec<f32>, stored: &Value, atol: f32, what: &str) {
    let stride = stored["stride"].as_u64().expect("stride") as usize;
    let picked: Vec<f32> = actual.into_iter().step_by(stride).collect();
    assert_close_verbose(&picked, &flat(&stored["values"]), atol, 1e-4, what);
}

fn f32_of(case: &Value, key: &str) -> f32 {
    case[key].as_f64().expect(key) as f32
}

/// The case's x: the generated values plus `offset`, in f32 as in the script.
fn input<const D: usize>(case: &Value, device: &Device) -> Tensor<D> {
    generated::<D>(&case["x"], device).add_scalar(f32_of(case, "offset"))
}

fn per_channel(case: &Value, key: &str, device: &Device) -> Tensor<1> {
    generated::<1>(&case[key], device)
}

fn matches_torch<const D: usize>(case: &Value, device: &Device) {
    let name = case["name"].as_str().expect("name");
    let eps = case["epsilon"].as_f64().expect("epsilon");
    let ad = device.clone().autodiff();
    let x = input::<D>(case, &ad).require_grad();
    let gamma = per_channel(case, "gamma", &ad).require_grad();
    let beta = per_channel(case, "beta", &ad).require_grad();
    let result = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), eps);
    let y = result.output;
    check(
        to_vec(y.clone().inner()),
        &case["output"],
        2e-5,
        &format!("{name} output"),
    );
    let stats = [(result.mean, "mean"), (result.variance, "variance")];
    for (value, key) in stats {
        let (actual, expected) = (to_vec(value.inner()), flat(&case[key]));
        assert_close_verbose(&actual, &expected, 2e-5, 1e-5, &format!("{name} {key}"));
    }
    let grads = (y * generated::<D>(&case["grad_output"], &ad))
        .sum()
        .backward();
    let dx = to_vec(x.grad(&grads).expect("input gradient"));
    check(dx, &case["grad_x"], 2e-5, &format!("{name} d/dx"));
    for (param, key) in [(gamma, "grad_gamma"), (beta, "grad_beta")] {
        let actual = to_vec(param.grad(&grads).expect("parameter gradient"));
        assert_close_verbose(
            &actual,
            &flat(&case[key]),
            2e-4,
            1e-4,
            &format!("{name} {key}"),
        );
    }
    let running_var =
        per_channel(case, "running_var", device).add_scalar(f32_of(case, "running_var_offset"));
    let inferred = batch_norm(
        input::<D>(case, device),
        per_channel(case, "gamma", device),
        per_channel(case, "beta", device),
        per_channel(case, "running_mean", device),
        running_var,
        eps,
    );
    let what = format!("{name} inference output");
    check(to_vec(inferred), &case["inference_output"], 2e-5, &what);
}

/// `sum(bn(x) * grad_output)` accumulated in f64 on the host, so that the differences below
/// see the network's rounding and not the sum's.
fn loss<const D: usize>(case: &Value, x: Tensor<D>, device: &Device) -> f64 {
    let eps = case["epsilon"].as_f64().expect("epsilon");
    let (gamma, beta) = (
        per_channel(case, "gamma", device),
        per_channel(case, "beta", device),
    );
    let y = to_vec(batch_norm_train(x, gamma, beta, eps).output);
    let gy = to_vec(generated::<D>(&case["grad_output"], device));
    y.iter().zip(&gy).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Central differences of the loss at a few elements of x against the autodiff gradient.
fn matches_finite_differences<const D: usize>(case: &Value, device: &Device) {
    let name = case["name"].as_str().expect("name");
    let eps = case["epsilon"].as_f64().expect("epsilon");
    let ad = device.clone().autodiff();
    let x = input::<D>(case, &ad).require_grad();
    let (gamma, beta) = (
        per_channel(case, "gamma", &ad),
        per_channel(case, "beta", &ad),
    );
    let y = batch_norm_train(x.clone(), gamma, beta, eps).output;
    let grads = (y * generated::<D>(&case["grad_output"], &ad))
        .sum()
        .backward();
    let analytic = to_vec(x.grad(&grads).expect("input gradient"));
    let base = to_vec(input::<D>(case, device));
    let dims: [usize; D] = usize_list(&case["x"]["shape"]).try_into().expect("rank");
    let picked = probe_indices(11, 10, base.len());
    let numeric = central_differences(&base, &picked, 0.05, |v| {
        let x = Tensor::<D>::from_data(TensorData::new(v, dims), device);
        loss(case, x, device)
    });
    let analytic: Vec<f32> = picked.iter().map(|&i| analytic[i]).collect();
    assert_close_verbose(
        &analytic,
        &numeric,
        1e-3,
        1e-3,
        &format!("{name} d/dx vs FD"),
    );
}

fn cases() -> Vec<Value> {
    fixture("batch_norm_cases")["cases"]
        .as_array()
        .expect("cases")
        .clone()
}

fn rank(case: &Value) -> usize {
    usize_list(&case["x"]["shape"]).len()
}

gampen_testing::backend_tests! {
    fn batch_norm_and_its_gradients_match_torch(device) {
        for case in cases() {
            match rank(&case) {
                2 => matches_torch::<2>(&case, device),
                3 => matches_torch::<3>(&case, device),
                4 => matches_torch::<4>(&case, device),
                r => panic!("no rank-{r} case expected"),
            }
        }
    }

    fn batch_norm_gradient_matches_finite_differences(device) {
        for case in cases() {
            let name = case["name"].as_str().expect("name");
            if ["rank4_odd_planes", "rank4_far_from_zero"].contains(&name) {
                matches_finite_differences::<4>(&case, device);
            }
        }
    }
}
