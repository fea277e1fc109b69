//! Max pooling and gather/scatter along the last dimension, on every backend, against
//! reference loops written here: the operations the patched burn-flex (vendor/burn-flex) takes
//! fast paths for. Ties go to the first maximum in row-major order and a NaN wins, as in
//! PyTorch (flex only; ndarray ignores NaN upstream); the pooling gradient lands on the chosen
//! element.

use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};
use gampen_testing::{lcg, to_vec};

/// `[b, c, h, w]` values on a coarse grid (so that windows hold ties), with NaNs at `nans`.
fn input(shape: [usize; 4], nans: &[usize]) -> Vec<f32> {
    let mut v: Vec<f32> = lcg(3, shape.iter().product())
        .into_iter()
        .map(|u| (u * 4.0).round())
        .collect();
    for &i in nans {
        v[i] = f32::NAN;
    }
    v
}

/// Reference max pooling (no padding): values and the flat in-plane index of each choice.
fn reference_pool(
    x: &[f32],
    [b, c, h, w]: [usize; 4],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> (Vec<f32>, Vec<usize>, [usize; 2]) {
    let out = |size: usize, i: usize| (size - dilation[i] * (kernel[i] - 1) - 1) / stride[i] + 1;
    let (oh, ow) = (out(h, 0), out(w, 1));
    let (mut values, mut index) = (Vec::new(), Vec::new());
    for plane in 0..b * c {
        for r in 0..oh {
            for q in 0..ow {
                let mut best: Option<(f32, usize)> = None;
                for kh in 0..kernel[0] {
                    for kw in 0..kernel[1] {
                        let i = (r * stride[0] + kh * dilation[0]) * w
                            + q * stride[1]
                            + kw * dilation[1];
                        let v = x[plane * h * w + i];
                        if best.is_none_or(|(m, _)| v > m || v.is_nan()) {
                            best = Some((v, i));
                        }
                    }
                }
                let (v, i) = best.expect("non-empty window");
                values.push(v);
                index.push(plane * h * w + i);
            }
        }
    }
    (values, index, [oh, ow])
}

fn same(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let equal = a == e || (a.is_nan() && e.is_nan());
        assert!(equal, "{what}[{i}]: got {a}, expected {e}");
    }
}

fn check_pool(
    device: &Device,
    shape: [usize; 4],
    [kernel, stride, dilation]: [[usize; 2]; 3],
    nans: &[usize],
) {
    let what = format!("pool {shape:?} k{kernel:?} s{stride:?} d{dilation:?} NaN at {nans:?}");
    let x = input(shape, nans);
    let (values, index, [oh, ow]) = reference_pool(&x, shape, kernel, stride, dilation);
    let ad = device.clone().autodiff();
    let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), shape), &ad).require_grad();
    let options = MaxPoolOptions::new(kernel)
        .with_stride(stride)
        .with_dilation(dilation);
    let y = max_pool2d(xt.clone(), options);
    same(&to_vec(y.clone().inner()), &values, &what);
    // A distinct weight per output, so the gradient says which input each output chose.
    let weights: Vec<f32> = (0..values.len()).map(|i| 1.0 + i as f32).collect();
    let wt = Tensor::<4>::from_data(
        TensorData::new(weights.clone(), [shape[0], shape[1], oh, ow]),
        &ad,
    );
    let grads = (y * wt).sum().backward();
    let mut expected = vec![0.0f32; x.len()];
    for (i, &at) in index.iter().enumerate() {
        expected[at] += weights[i];
    }
    same(
        &to_vec(xt.grad(&grads).expect("input gradient")),
        &expected,
        &format!("{what} d/dx"),
    );
}

fn check_gather_scatter(device: &Device) {
    let [n, c, len, picks] = [3, 4, 9, 13];
    let x: Vec<f32> = lcg(11, n * c * len);
    let idx: Vec<i64> = lcg(12, n * c * picks)
        .into_iter()
        .map(|u| (((u + 1.0) / 2.0) * len as f32) as i64 % len as i64)
        .collect();
    let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [n, c, len]), device);
    let it = Tensor::<3, Int>::from_data(TensorData::new(idx.clone(), [n, c, picks]), device);
    let row = |k: usize| (k / picks) * len;
    let gathered: Vec<f32> = (0..idx.len())
        .map(|k| x[row(k) + idx[k] as usize])
        .collect();
    same(
        &to_vec(xt.clone().gather(2, it.clone())),
        &gathered,
        "gather along the last dim",
    );

    let values: Vec<f32> = lcg(13, idx.len());
    let vt = Tensor::<3>::from_data(TensorData::new(values.clone(), [n, c, picks]), device);
    let mut expected = x.clone();
    for k in 0..idx.len() {
        expected[row(k) + idx[k] as usize] += values[k];
    }
    let scattered = to_vec(xt.scatter(2, it, vt, IndexingUpdateOp::Add));
    gampen_testing::assert_close(
        &scattered,
        &expected,
        1e-6,
        1e-6,
        "scatter-add along the last dim",
    );
}

gampen_testing::backend_tests! {
    fn max_pool_matches_reference_loops(device) {
        check_pool(device, [2, 3, 8, 10], [[2, 2], [2, 2], [1, 1]], &[]);
        // flex's 2x2 stride-2 path on odd sizes: the last row and column fall outside.
        check_pool(device, [1, 2, 9, 7], [[2, 2], [2, 2], [1, 1]], &[]);
        // flex's column-then-row path: window heights 3 and 2 (unrolled) and 4 (not), with
        // ties between columns that row-major order must break.
        check_pool(device, [1, 2, 9, 7], [[3, 3], [2, 2], [1, 1]], &[]);
        check_pool(device, [2, 2, 13, 17], [[3, 3], [2, 2], [1, 1]], &[]);
        check_pool(device, [1, 2, 9, 7], [[2, 3], [1, 2], [1, 1]], &[]);
        check_pool(device, [1, 1, 11, 9], [[4, 2], [3, 1], [1, 1]], &[]);
        check_pool(device, [2, 1, 11, 12], [[2, 3], [1, 2], [2, 1]], &[]);
    }

    fn gather_and_scatter_along_the_last_dim_match_reference_loops(device) {
        check_gather_scatter(device);
    }
}

/// flex propagates a NaN through max pooling, as PyTorch does (ndarray does not, upstream).
#[test]
fn flex_max_pool_propagates_nan_like_torch() {
    let device = Device::flex();
    check_pool(&device, [2, 3, 8, 10], [[2, 2], [2, 2], [1, 1]], &[5]);
    // A NaN first in its window, and one in a window's lower row (the 2x2 path's selects).
    check_pool(&device, [1, 2, 9, 7], [[2, 2], [2, 2], [1, 1]], &[0]);
    check_pool(&device, [1, 2, 9, 7], [[2, 2], [2, 2], [1, 1]], &[11]);
    check_pool(&device, [1, 2, 9, 7], [[3, 3], [2, 2], [1, 1]], &[20]);
    // Two NaNs in one 3x3 window: the last in row-major order wins, whether it is in an
    // earlier column (row 0 column 2, then row 1 column 0) or in the same column.
    check_pool(&device, [1, 1, 9, 7], [[3, 3], [2, 2], [1, 1]], &[2, 7]);
    check_pool(&device, [1, 1, 9, 7], [[3, 3], [2, 2], [1, 1]], &[1, 8]);
    check_pool(&device, [1, 1, 9, 7], [[3, 3], [2, 2], [1, 1]], &[8, 1]);
}
