//! Bilinear grid sampling as one differentiable operation (a gampen-rs patch; see
//! `VENDORED.md` at the crate root).
//!
//! Why: burn-autodiff 0.22.1 does not implement `float_grid_sample_2d`, so under autodiff the
//! trait's default runs: a decomposition into about fifty tracked operations (slices, floors,
//! integer casts and masks, four gathers over every channel), each recorded in the graph and
//! differentiated on its own. For a spatial transformer on 16 cutouts of 64x64 pixels that
//! cost more than the rest of the transformer's forward and backward passes together. Here
//! the forward pass is the backend's own `float_grid_sample_2d` and the backward pass the
//! closed form below, in untracked backend operations.
//!
//! With `x = (gx + 1) * sx + ox` (`sx = (W - 1) / 2, ox = 0` with `align_corners`, else
//! `sx = W / 2, ox = -1/2`), `x0 = floor(x)`, `fx = x - x0` and likewise for `y`, the output is
//! `sum_k w_k v_k` over the four corners, `v_k` the input there (zero outside the image) and
//! `w_k` the bilinear weights. Hence
//! - `d input[corner k] += grad * w_k` (a scatter-add per corner),
//! - `d gx = sx * sum_c grad * ((1 - fy)(v10 - v00) + fy (v11 - v01))`,
//! - `d gy = sy * sum_c grad * ((1 - fx)(v01 - v00) + fx (v11 - v10))`,
//!
//! which is also what PyTorch's `grid_sampler_2d_backward` computes.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn_backend::tensor::{FloatTensor, IntTensor};
use burn_backend::{Backend, TensorMetadata, get_or_init_device_settings};
use burn_std::{IndexingUpdateOp, Shape, Slice};

/// Whether [`backward`] covers these options: bilinear with zero padding (GaMPEN's spatial
/// transformer); anything else keeps the default decomposition.
pub(crate) fn has_closed_form(options: &GridSampleOptions) -> bool {
    matches!(options.mode, InterpolateMode::Bilinear)
        && options.padding_mode == GridSamplePaddingMode::Zeros
}

/// One corner of the bilinear stencil: flat indices into the input plane (clamped, expanded
/// over the channels), and its weight times its in-image mask, `[N, 1, P]`.
struct Corner<B: Backend> {
    index: IntTensor<B>,
    weight: FloatTensor<B>,
    inside: FloatTensor<B>,
}

/// Pixel coordinate, its floor as an integer, and the fractional part, `[N, 1, P]` each.
fn axis<B: Backend>(
    grid: &FloatTensor<B>,
    which: usize,
    size: usize,
    align_corners: bool,
) -> (IntTensor<B>, FloatTensor<B>, f64) {
    let [n, ho, wo, _] = grid.shape().dims();
    let ranges = [0..n, 0..ho, 0..wo, which..which + 1].map(Slice::from);
    let g = B::float_reshape(
        B::float_slice(grid.clone(), &ranges),
        Shape::new([n, 1, ho * wo]),
    );
    let (scale, offset) = if align_corners {
        ((size as f64 - 1.0) / 2.0, 0.0)
    } else {
        (size as f64 / 2.0, -0.5)
    };
    let pixel = B::float_add_scalar(
        B::float_mul_scalar(B::float_add_scalar(g, 1f64.into()), scale.into()),
        offset.into(),
    );
    let floor = B::float_floor(pixel.clone());
    let frac = B::float_sub(pixel, floor.clone());
    let settings = get_or_init_device_settings::<B>(&grid.device());
    (B::float_into_int(floor, settings.int_dtype), frac, scale)
}

/// `0 <= i < size` as 0/1 in the float dtype of `like`.
fn inside<B: Backend>(i: &IntTensor<B>, size: usize, like: &FloatTensor<B>) -> FloatTensor<B> {
    let settings = get_or_init_device_settings::<B>(&like.device());
    let low = B::int_greater_equal_elem(i.clone(), 0.into(), settings.bool_dtype);
    let high = B::int_lower_elem(i.clone(), (size as i64).into(), settings.bool_dtype);
    B::bool_into_float(B::bool_and(low, high), like.dtype().into())
}

fn one_minus<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    B::float_add_scalar(B::float_neg(t), 1f64.into())
}

/// The four corners `00, 10, 01, 11` (x then y), and the scales `sx, sy`.
fn corners<B: Backend>(
    grid: &FloatTensor<B>,
    [c, h, w]: [usize; 3],
    align_corners: bool,
) -> (Vec<Corner<B>>, [FloatTensor<B>; 2], [f64; 2]) {
    let (x0, fx, sx) = axis::<B>(grid, 0, w, align_corners);
    let (y0, fy, sy) = axis::<B>(grid, 1, h, align_corners);
    let x1 = B::int_add_scalar(x0.clone(), 1.into());
    let y1 = B::int_add_scalar(y0.clone(), 1.into());
    let [n, _, p] = fx.shape().dims();
    let stencil = [
        (
            &x0,
            &y0,
            one_minus::<B>(fx.clone()),
            one_minus::<B>(fy.clone()),
        ),
        (&x1, &y0, fx.clone(), one_minus::<B>(fy.clone())),
        (&x0, &y1, one_minus::<B>(fx.clone()), fy.clone()),
        (&x1, &y1, fx.clone(), fy.clone()),
    ];
    let corners = stencil
        .into_iter()
        .map(|(xi, yi, wx, wy)| {
            let inside = B::float_mul(inside::<B>(xi, w, &fx), inside::<B>(yi, h, &fx));
            let xc = B::int_clamp(xi.clone(), 0.into(), ((w - 1) as i64).into());
            let yc = B::int_clamp(yi.clone(), 0.into(), ((h - 1) as i64).into());
            let flat = B::int_add(B::int_mul_scalar(yc, (w as i64).into()), xc);
            Corner {
                index: B::int_expand(flat, Shape::new([n, c, p])),
                weight: B::float_mul(B::float_mul(wx, wy), inside.clone()),
                inside,
            }
        })
        .collect();
    (corners, [fx, fy], [sx, sy])
}

/// Gradients of `float_grid_sample_2d` (bilinear, zero padding) with respect to the input
/// and the grid, each only if asked for.
///
/// # Shapes
/// input `[N, C, H, W]`, grid `[N, H_out, W_out, 2]`, grad `[N, C, H_out, W_out]`.
pub(crate) fn backward<B: Backend>(
    input: FloatTensor<B>,
    grid: FloatTensor<B>,
    grad: FloatTensor<B>,
    options: &GridSampleOptions,
    [want_input, want_grid]: [bool; 2],
) -> (Option<FloatTensor<B>>, Option<FloatTensor<B>>) {
    let [n, c, h, w] = input.shape().dims();
    let [_, ho, wo, _] = grid.shape().dims();
    let grad = B::float_reshape(grad, Shape::new([n, c, ho * wo]));
    let (corners, [fx, fy], [sx, sy]) = corners::<B>(&grid, [c, h, w], options.align_corners);

    let d_input = want_input.then(|| {
        let device = input.device();
        let zeros = B::float_zeros(Shape::new([n, c, h * w]), &device, grad.dtype().into());
        let flat = corners.iter().fold(zeros, |acc, k| {
            let values = B::float_mul(grad.clone(), k.weight.clone());
            B::float_scatter(2, acc, k.index.clone(), values, IndexingUpdateOp::Add)
        });
        B::float_reshape(flat, Shape::new([n, c, h, w]))
    });

    let d_grid = want_grid.then(|| {
        let flat = B::float_reshape(input, Shape::new([n, c, h * w]));
        let v: Vec<FloatTensor<B>> = corners
            .iter()
            .map(|k| {
                B::float_mul(
                    B::float_gather(2, flat.clone(), k.index.clone()),
                    k.inside.clone(),
                )
            })
            .collect();
        let mix = |a: &FloatTensor<B>, b: &FloatTensor<B>, f: &FloatTensor<B>| {
            B::float_mul(B::float_sub(a.clone(), b.clone()), f.clone())
        };
        // d/dx: (1 - fy)(v10 - v00) + fy (v11 - v01); d/dy: (1 - fx)(v01 - v00) + fx (v11 - v10).
        let dx = B::float_add(
            mix(&v[1], &v[0], &one_minus::<B>(fy.clone())),
            mix(&v[3], &v[2], &fy),
        );
        let dy = B::float_add(
            mix(&v[2], &v[0], &one_minus::<B>(fx.clone())),
            mix(&v[3], &v[1], &fx),
        );
        let reduce = |d: FloatTensor<B>, scale: f64| {
            let summed = B::float_sum_dim(B::float_mul(grad.clone(), d), 1);
            B::float_reshape(
                B::float_mul_scalar(summed, scale.into()),
                Shape::new([n, ho, wo, 1]),
            )
        };
        B::float_cat(vec![reduce(dx, sx), reduce(dy, sy)], 3)
    });
    (d_input, d_grid)
}
