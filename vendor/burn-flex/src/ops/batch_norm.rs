//! gampen-rs patch: batch normalisation fused per channel, forward (with the batch's own
//! statistics, or with given ones) and backward.
//!
//! Burn composes `batch_norm_train` and its backward pass out of about a dozen tensor
//! operations: two transposing copies of the activation (to reduce along a contiguous
//! dimension), the reductions, and broadcast element-wise passes, each with its own output.
//! Here the statistics are sums over each channel's planes where they lie, and the output is
//! one multiply-add per element: the forward pass reads the activation three times and writes
//! it once, the backward pass reads the activation and its gradient twice and writes once.
//!
//! f32 and f64 are computed in their own precision, with the sums added up in f64; f16 and
//! bf16 are computed in f32 and rounded back, as PyTorch's autocast does for batch norm.

use alloc::vec::Vec;
use burn_backend::{
    DType, Element, FloatDType,
    ops::{BatchNormTrain, BatchNormTrainBackward, FloatTensorOps},
};
use burn_std::{Bytes, Shape};
use bytemuck::Pod;
use num_traits::Float;

use crate::{Flex, FlexTensor, Layout};

/// Independent partial sums per reduction: one vector register's worth of f32, so that the
/// loop vectorises without reassociating a single running sum.
const LANES: usize = 16;

/// Elements below which the channel loops stay on the calling thread.
#[cfg(feature = "rayon")]
const PARALLEL_ELEMENTS: usize = 32 * 1024;

/// An element type the kernels compute in.
trait Real: Float + Pod + Element + Send + Sync {
    fn widen(self) -> f64;
    fn narrow(v: f64) -> Self;
}

impl Real for f32 {
    fn widen(self) -> f64 {
        self as f64
    }
    fn narrow(v: f64) -> Self {
        v as f32
    }
}

impl Real for f64 {
    fn widen(self) -> f64 {
        self
    }
    fn narrow(v: f64) -> Self {
        v
    }
}

/// `[batch, channels, spatial...]`: channel `c` of image `b` is the contiguous plane at
/// `(b * channels + c) * plane`.
#[derive(Clone, Copy, Debug)]
struct Planes {
    batch: usize,
    channels: usize,
    plane: usize,
}

impl Planes {
    fn of(shape: &[usize]) -> Self {
        assert!(
            shape.len() >= 2,
            "batch_norm: the input needs a batch and a channel dimension, got shape {shape:?}"
        );
        Self {
            batch: shape[0],
            channels: shape[1],
            plane: shape[2..].iter().product(),
        }
    }

    /// Values per channel: the `N` of the mean.
    fn count(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    fn len(&self) -> usize {
        self.batch * self.channels * self.plane
    }

    /// Channel `c`'s planes of `data`, one per image.
    fn channel<'a, T>(&self, data: &'a [T], c: usize) -> impl Iterator<Item = &'a [T]> {
        let (channels, plane) = (self.channels, self.plane);
        (0..self.batch).map(move |b| {
            let at = (b * channels + c) * plane;
            &data[at..at + plane]
        })
    }
}

/// The `K` sums of `f(a_i, b_i)` over channel `c` of `a` and `b` (same shape), each kept in
/// [`LANES`] partial sums per plane and added up across planes in f64.
fn channel_sums<T: Real, const K: usize>(
    planes: &Planes,
    a: &[T],
    b: &[T],
    c: usize,
    f: impl Fn(T, T) -> [T; K],
) -> [f64; K] {
    let mut total = [0.0f64; K];
    for (pa, pb) in planes.channel(a, c).zip(planes.channel(b, c)) {
        let mut acc = [[T::zero(); LANES]; K];
        let (ca, cb) = (pa.chunks_exact(LANES), pb.chunks_exact(LANES));
        let tail = ca.remainder().iter().zip(cb.remainder());
        for (xa, xb) in ca.zip(cb) {
            for lane in 0..LANES {
                let v = f(xa[lane], xb[lane]);
                for k in 0..K {
                    acc[k][lane] = acc[k][lane] + v[k];
                }
            }
        }
        for (&x, &y) in tail {
            let v = f(x, y);
            for k in 0..K {
                acc[k][0] = acc[k][0] + v[k];
            }
        }
        for k in 0..K {
            total[k] += acc[k].iter().map(|s| s.widen()).sum::<f64>();
        }
    }
    total
}

/// `f(c)` for every channel, in parallel for large tensors.
fn map_channels<R: Send>(planes: &Planes, f: impl Fn(usize) -> R + Send + Sync) -> Vec<R> {
    #[cfg(feature = "rayon")]
    if planes.len() >= PARALLEL_ELEMENTS {
        use rayon::prelude::*;
        return (0..planes.channels).into_par_iter().map(f).collect();
    }
    (0..planes.channels).map(f).collect()
}

/// A new tensor of `planes`' shape, each of its planes written by `f(c, offset, plane)`:
/// the plane's channel, the flat index of its first element, and the plane itself.
fn fill_planes<T: Real>(
    planes: &Planes,
    f: impl Fn(usize, usize, &mut [T]) + Send + Sync,
) -> Vec<T> {
    let mut out = alloc::vec![T::zero(); planes.len()];
    if planes.plane == 0 {
        return out;
    }
    let run = |(i, chunk): (usize, &mut [T])| f(i % planes.channels, i * planes.plane, chunk);
    #[cfg(feature = "rayon")]
    if planes.len() >= PARALLEL_ELEMENTS {
        use rayon::prelude::*;
        out.par_chunks_mut(planes.plane).enumerate().for_each(run);
        return out;
    }
    out.chunks_mut(planes.plane).enumerate().for_each(run);
    out
}

/// `y = (x - centre[c]) * scale[c] + shift[c]` for every element of channel `c`. (Centred
/// first: folding the centre into the shift would cancel digits when it is large.)
fn affine<T: Real>(planes: &Planes, x: &[T], [centre, scale, shift]: [&[T]; 3]) -> Vec<T> {
    fill_planes(planes, |c, at, out| {
        let (m, s, t) = (centre[c], scale[c], shift[c]);
        let xp = &x[at..at + out.len()];
        for (y, &v) in out.iter_mut().zip(xp) {
            *y = (v - m) * s + t;
        }
    })
}

fn float_dtype(dtype: DType) -> FloatDType {
    match dtype {
        DType::F64 => FloatDType::F64,
        DType::F16 => FloatDType::F16,
        DType::BF16 => FloatDType::BF16,
        _ => FloatDType::F32,
    }
}

/// `t` contiguous in `T`'s dtype.
fn to_real<T: Real>(t: FlexTensor) -> FlexTensor {
    Flex::float_cast(t, float_dtype(T::dtype())).to_contiguous()
}

fn tensor<T: Real>(data: Vec<T>, shape: &[usize], dtype: DType) -> FlexTensor {
    let t = FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::from(shape.to_vec())),
        T::dtype(),
    );
    Flex::float_cast(t, float_dtype(dtype))
}

/// Runs `f` in f64 for f64 tensors and in f32 for every other float dtype.
macro_rules! in_compute_dtype {
    ($dtype:expr, $f:ident($($arg:expr),*)) => {
        match $dtype {
            DType::F64 => $f::<f64>($($arg),*),
            _ => $f::<f32>($($arg),*),
        }
    };
}

/// Batch norm with the batch's statistics: the output (in x's dtype), and the per-channel
/// mean and biased variance (f64 for f64 input, f32 otherwise).
///
/// # Shapes
/// x `[B, C, ...]`, gamma and beta `[C]`; output as x, mean and variance `[C]`.
pub(crate) fn batch_norm_train(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> BatchNormTrain<Flex> {
    in_compute_dtype!(x.dtype(), train(x, gamma, beta, epsilon))
}

fn train<T: Real>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> BatchNormTrain<Flex> {
    let (dtype, shape) = (x.dtype(), x.layout().shape().to_vec());
    let planes = Planes::of(&shape);
    let (x, gamma, beta) = (to_real::<T>(x), to_real::<T>(gamma), to_real::<T>(beta));
    let (xs, gs, bs): (&[T], &[T], &[T]) = (x.storage(), gamma.storage(), beta.storage());
    let n = planes.count();
    let stats: Vec<(f64, f64)> = map_channels(&planes, |c| {
        let [sum] = channel_sums(&planes, xs, xs, c, |v, _| [v]);
        let mean = sum / n;
        let m = T::narrow(mean);
        let [squares] = channel_sums(&planes, xs, xs, c, |v, _| [(v - m) * (v - m)]);
        (mean, squares / n)
    });
    let centre: Vec<T> = stats.iter().map(|s| T::narrow(s.0)).collect();
    let scale: Vec<T> = (stats.iter().zip(gs))
        .map(|(s, g)| T::narrow(g.widen() / (s.1 + epsilon).sqrt()))
        .collect();
    let out = affine(&planes, xs, [&centre, &scale, bs]);
    // The statistics stay in the compute dtype (f32 for half inputs): the backward pass then
    // centres x on the mean the forward pass used, not on its rounding to f16.
    let per_channel = |pick: fn(&(f64, f64)) -> f64| {
        let v: Vec<T> = stats.iter().map(|s| T::narrow(pick(s))).collect();
        tensor(v, &[planes.channels], T::dtype())
    };
    BatchNormTrain::new(
        tensor(out, &shape, dtype),
        per_channel(|s| s.0),
        per_channel(|s| s.1),
    )
}

/// Batch norm with given statistics (inference): `(x - mean) / sqrt(variance + epsilon) *
/// gamma + beta`.
///
/// # Shapes
/// x `[B, C, ...]`, gamma, beta, mean and variance `[C]`; output as x.
pub(crate) fn batch_norm(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    in_compute_dtype!(x.dtype(), infer(x, gamma, beta, mean, variance, epsilon))
}

fn infer<T: Real>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let (dtype, shape) = (x.dtype(), x.layout().shape().to_vec());
    let planes = Planes::of(&shape);
    let [x, g, b, m, v] = [x, gamma, beta, mean, variance].map(to_real::<T>);
    let (gs, vs): (&[T], &[T]) = (g.storage(), v.storage());
    let scale: Vec<T> = (gs.iter().zip(vs))
        .map(|(&g, &v)| {
            let (g, v) = (g.widen(), v.widen());
            T::narrow(g / (v + epsilon).sqrt())
        })
        .collect();
    let out = affine(&planes, x.storage(), [m.storage(), &scale, b.storage()]);
    tensor(out, &shape, dtype)
}

/// Gradients of [`batch_norm_train`] with respect to x, gamma and beta.
///
/// With `xhat = (x - mean) / s`, `s = sqrt(variance + epsilon)` and `N` values per channel:
/// `dbeta = sum(dy)`, `dgamma = sum(dy * xhat)` and
/// `dx = gamma / s * (dy - dbeta / N - xhat * dgamma / N)`, which is
/// `a * dy + b * (x - mean) + k` per channel.
///
/// # Shapes
/// x and output_grad `[B, C, ...]`, gamma, mean and variance `[C]`.
pub(crate) fn batch_norm_train_backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> BatchNormTrainBackward<Flex> {
    in_compute_dtype!(
        x.dtype(),
        backward(x, gamma, mean, variance, epsilon, output_grad)
    )
}

fn backward<T: Real>(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> BatchNormTrainBackward<Flex> {
    let (dtype, shape) = (x.dtype(), x.layout().shape().to_vec());
    let planes = Planes::of(&shape);
    let [x, dy, g, m, v] = [x, output_grad, gamma, mean, variance].map(to_real::<T>);
    let (xs, dys, gs, ms, vs): (&[T], &[T], &[T], &[T], &[T]) = (
        x.storage(),
        dy.storage(),
        g.storage(),
        m.storage(),
        v.storage(),
    );
    let sums: Vec<[f64; 2]> = map_channels(&planes, |c| {
        let mc = ms[c];
        channel_sums(&planes, dys, xs, c, |d, v| [d, d * (v - mc)])
    });
    let n = planes.count();
    let (mut a, mut b, mut k) = (Vec::new(), Vec::new(), Vec::new());
    let (mut dgamma, mut dbeta) = (Vec::new(), Vec::new());
    for (c, &[sum_dy, sum_dy_xc]) in sums.iter().enumerate() {
        let inv_s = 1.0 / (vs[c].widen() + epsilon).sqrt();
        let dg = sum_dy_xc * inv_s;
        let ac = gs[c].widen() * inv_s;
        a.push(T::narrow(ac));
        b.push(T::narrow(-ac * inv_s * dg / n));
        k.push(T::narrow(-ac * sum_dy / n));
        dgamma.push(T::narrow(dg));
        dbeta.push(T::narrow(sum_dy));
    }
    let dx = fill_planes(&planes, |c, at, out| {
        let (dyp, xp) = (&dys[at..at + out.len()], &xs[at..at + out.len()]);
        let (ac, bc, kc, mc) = (a[c], b[c], k[c], ms[c]);
        for ((o, &d), &v) in out.iter_mut().zip(dyp).zip(xp) {
            *o = d * ac + ((v - mc) * bc + kc);
        }
    });
    let channels = [planes.channels];
    BatchNormTrainBackward::new(
        tensor(dx, &shape, dtype),
        tensor(dgamma, &channels, dtype),
        tensor(dbeta, &channels, dtype),
    )
}
