//! Rebuilds the generated tensors of `tools/fixtures_stn_backbone.py` bit for bit (the
//! fixtures store recipes, not weights, to stay small).

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

/// `n` values uniform on `[-1, 1)`, multiples of 2^-23: the script's `lcg`.
pub fn lcg(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// `count` indices into a tensor of `len` elements, spread by [`lcg`] from `seed`: where a
/// finite-difference check probes a gradient.
pub fn probe_indices(seed: u64, count: usize, len: usize) -> Vec<usize> {
    lcg(seed, count)
        .iter()
        .map(|u| ((u + 1.0) / 2.0 * len as f32) as usize % len)
        .collect()
}

/// Central differences `(loss(base + h e_i) - loss(base - h e_i)) / 2h` at each index `i` of
/// `picked`; `loss` receives the perturbed copy of `base`.
pub fn central_differences(
    base: &[f32],
    picked: &[usize],
    h: f32,
    loss: impl Fn(Vec<f32>) -> f64,
) -> Vec<f32> {
    let at = |i: usize, delta: f32| {
        let mut v = base.to_vec();
        v[i] += delta;
        loss(v)
    };
    picked
        .iter()
        .map(|&i| ((at(i, h) - at(i, -h)) / (2.0 * h as f64)) as f32)
        .collect()
}

/// The tensor a `{"seed", "scale", "shape"}` spec describes.
pub fn generated<const D: usize>(spec: &Value, device: &Device) -> Tensor<D> {
    let shape = usize_list(&spec["shape"]);
    let scale = spec["scale"].as_f64().expect("scale") as f32;
    let n = shape.iter().product();
    let values = lcg(spec["seed"].as_u64().expect("seed"), n)
        .into_iter()
        .map(|v| v * scale)
        .collect::<Vec<_>>();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A JSON list of non-negative integers (a shape, a stride).
pub fn usize_list(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .expect("a JSON list")
        .iter()
        .map(|x| x.as_u64().expect("a non-negative integer") as usize)
        .collect()
}

/// `[a, b]` from a JSON pair.
pub fn pair(value: &Value) -> [usize; 2] {
    let v = usize_list(value);
    [v[0], v[1]]
}

/// `gampen_testing::assert_close`, and prints the largest errors seen (`--nocapture`) so the
/// stated tolerances can be compared with what the backends achieve.
pub fn assert_close_verbose(actual: &[f32], expected: &[f32], atol: f32, rtol: f32, what: &str) {
    let (abs, rel) = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| ((a - e).abs(), (a - e).abs() / e.abs().max(1e-3)))
        .fold((0.0f32, 0.0f32), |(ma, mr), (a, r)| (ma.max(a), mr.max(r)));
    eprintln!("max error {what}: abs {abs:.2e}, rel {rel:.2e} (atol {atol:.0e}, rtol {rtol:.0e})");
    crate::assert_close(actual, expected, atol, rtol, what);
}
