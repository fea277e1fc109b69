//! Test helpers shared by the gampen crates (dev-dependency only).
//!
//! - [`backend_tests!`] writes one test body once and runs it on ndarray and flex; a third
//!   copy for wgpu is `#[ignore]`d so that the default `cargo test` needs no GPU driver.
//!   CI runs those with `cargo test -- --ignored ::wgpu` on Mesa's lavapipe.
//! - [`fixture`] reads a PyTorch reference fixture written by `tools/make_fixtures.py`.
#![warn(missing_docs)]

pub mod generated;

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
pub use serde_json::Value;

#[doc(hidden)]
pub use burn as __burn;

/// Directory holding the committed PyTorch fixtures (`<workspace>/fixtures`).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Reads `fixtures/<name>.json`.
///
/// Panics with the path when the file is missing: fixtures are committed, so a missing one is
/// a broken checkout, not a user error.
pub fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad fixture {}: {e}", path.display()))
}

/// Flattens a (nested) JSON array of numbers into `f32`s, in row-major order.
pub fn flat(value: &Value) -> Vec<f32> {
    fn walk(v: &Value, out: &mut Vec<f32>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Number(n) => out.push(n.as_f64().expect("number") as f32),
            other => panic!("fixture holds a non-number: {other}"),
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out
}

/// Shape of a nested JSON array (`[[1,2],[3,4]]` -> `[2, 2]`).
pub fn shape_of(value: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    let mut v = value;
    while let Value::Array(items) = v {
        shape.push(items.len());
        match items.first() {
            Some(first) => v = first,
            None => break,
        }
    }
    shape
}

/// Builds a tensor from a nested JSON array on `device`.
pub fn tensor<const D: usize>(value: &Value, device: &Device) -> Tensor<D> {
    let shape = shape_of(value);
    assert_eq!(shape.len(), D, "fixture rank {} != {D}", shape.len());
    Tensor::from_data(TensorData::new(flat(value), shape), device)
}

/// Builds `TensorData` (for `assert_approx_eq`) from a nested JSON array.
pub fn data(value: &Value) -> TensorData {
    TensorData::new(flat(value), shape_of(value))
}

/// Asserts `|a - b| <= atol + rtol * |b|` elementwise, naming the first offending index.
pub fn assert_close(actual: &[f32], expected: &[f32], atol: f32, rtol: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length differs");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let tol = atol + rtol * e.abs();
        assert!(
            (a - e).abs() <= tol && a.is_finite(),
            "{what}[{i}]: got {a}, expected {e} (tolerance {tol})"
        );
    }
}

/// Reads a tensor back as `Vec<f32>`.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data")
}

/// Writes one test body and runs it on every backend.
///
/// ```ignore
/// gampen_testing::backend_tests! {
///     fn identity_is_exact(device) {
///         let x = Tensor::<2>::ones([2, 2], device);
///         assert_eq!(gampen_testing::to_vec(x), vec![1.0; 4]);
///     }
/// }
/// ```
///
/// expands to a module `identity_is_exact` with tests `ndarray`, `flex` and (ignored) `wgpu`.
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* fn $name:ident($device:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($device: &$crate::__burn::tensor::Device) $body

                // ndarray is deprecated upstream in favour of flex, but users still run it.
                #[test]
                #[allow(deprecated)]
                fn ndarray() {
                    run(&$crate::__burn::tensor::Device::ndarray());
                }

                #[test]
                fn flex() {
                    run(&$crate::__burn::tensor::Device::flex());
                }

                #[test]
                #[ignore = "needs a Vulkan/Metal/DX12 driver: cargo test -- --ignored ::wgpu"]
                fn wgpu() {
                    run(&$crate::__burn::tensor::Device::wgpu(Default::default()));
                }
            }
        )*
    };
}

/// The input generator of the PyTorch fixture scripts (`lcg` in `tools/fixtures_import.py`):
/// `n` values uniform on `[-1, 1)`, multiples of 2^-23 so that they are exact in f32 and the
/// same on both sides, from a 64-bit linear congruential generator seeded with `seed`.
pub fn lcg(seed: u64, n: usize) -> Vec<f32> {
    const MASK: u128 = (1 << 64) - 1;
    let mut state = (seed as u128 * 0x9E37_79B9_7F4A_7C15 + 1) & MASK;
    (0..n)
        .map(|_| {
            state = (state * 6_364_136_223_846_793_005 + 1_442_695_040_888_963_407) & MASK;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}
