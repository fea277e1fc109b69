//! 2-D convolution and both of its backward passes as GEMMs over one column layout
//! (a gampen-rs patch; see `VENDORED.md` at the crate root).
//!
//! Why not flex 0.22.1's own path: its general convolution converts the whole input to NHWC
//! on one thread, builds one patch per row and transposes every GEMM result back to NCHW; its
//! backward passes are Burn's generic ones, where the weight gradient is a convolution with
//! batch and channels swapped (a GEMM whose N is the kernel area, 9 for a 3x3 layer, over an
//! im2col with `B * H * W` columns) and the input gradient a transposed convolution.
//!
//! Here the three passes share one layout, built straight from NCHW with contiguous row
//! copies: `col[(c, ki, kj), pixel]` for a tile of output pixels (a few output rows of one
//! image, or several whole images when they are small), so that
//! - forward: `Y = W . col(X)` (the bias prefilled and accumulated by the GEMM),
//! - weight gradient: `dW += dY . col(X)^T`, one partial sum per fixed slice of the tiles,
//! - input gradient: `dX = col2im(W^T . dY)`,
//!
//! each a single GEMM per tile and group, with N (or K) of about [`TILE_PIXELS`].

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_std::{Bytes, Shape, f16};

use crate::ops::conv::valid_out_range;
use crate::{FlexTensor, Layout};

/// Output pixels per tile: the GEMM's N in the forward and input-gradient passes and its K in
/// the weight gradient. A tile's columns (`C_in * KH * KW` rows of this many values) stay
/// within the L2 cache for the layers of a VGG at 64 to 143 pixels.
const TILE_PIXELS: usize = 512;

/// Weight-gradient partial sums. Fixed, not the thread count, so the summation order (and
/// the result, bit for bit) does not depend on the machine.
const WEIGHT_PARTIALS: usize = 8;

/// Element types the GEMM path handles natively (bf16 goes through f32, as in flex's forward).
pub(crate) trait ConvElement:
    bytemuck::Pod + burn_backend::Element + core::ops::Add<Output = Self> + Send + Sync + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
}

impl ConvElement for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

impl ConvElement for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

impl ConvElement for f16 {
    const ZERO: Self = f16::ZERO;
    const ONE: Self = f16::ONE;
}

/// Shapes and options of one 2-D convolution, NCHW.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    stride: [usize; 2],
    pad: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
}

impl Geometry {
    fn new(x: &[usize], w: &[usize], options: &ConvOptions<2>) -> Self {
        let [pad_h, pad_w] = options.padding_begin();
        let [end_h, end_w] = options.padding_end();
        let out = |size: usize, begin: usize, end: usize, k: usize, s: usize, d: usize| {
            let span = d * (k.max(1) - 1) + 1;
            (size + begin + end)
                .checked_sub(span)
                .map_or(0, |room| room / s + 1)
        };
        let [sh, sw] = options.stride;
        let [dh, dw] = options.dilation;
        Self {
            batch: x[0],
            c_in: x[1],
            h: x[2],
            w: x[3],
            c_out: w[0],
            kh: w[2],
            kw: w[3],
            oh: out(x[2], pad_h, end_h, w[2], sh, dh),
            ow: out(x[3], pad_w, end_w, w[3], sw, dw),
            stride: options.stride,
            pad: [pad_h, pad_w],
            dilation: options.dilation,
            groups: options.groups,
        }
    }

    fn cin_g(&self) -> usize {
        self.c_in / self.groups
    }

    fn cout_g(&self) -> usize {
        self.c_out / self.groups
    }

    /// Rows of the column matrix of one group: `C_in / groups * KH * KW`.
    fn k(&self) -> usize {
        self.cin_g() * self.kh * self.kw
    }

    fn out_pixels(&self) -> usize {
        self.oh * self.ow
    }

    /// The tiles, in a fixed order: runs of output rows of one image, or runs of whole images
    /// when an image has fewer than [`TILE_PIXELS`] output pixels.
    /// Largest number of pixels in one tile: the column buffers' width.
    fn max_tile_pixels(&self, tiles: &[Tile]) -> usize {
        tiles.iter().map(|t| t.pixels(self)).max().unwrap_or(0)
    }

    fn tiles(&self) -> Vec<Tile> {
        let pixels = self.out_pixels();
        if pixels == 0 || self.batch == 0 {
            return Vec::new();
        }
        if pixels >= TILE_PIXELS {
            let rows = (TILE_PIXELS / self.ow).max(1);
            (0..self.batch)
                .flat_map(|b| {
                    (0..self.oh).step_by(rows).map(move |r0| Tile {
                        images: b..b + 1,
                        rows: r0..(r0 + rows).min(self.oh),
                    })
                })
                .collect()
        } else {
            let per_tile = TILE_PIXELS / pixels;
            (0..self.batch)
                .step_by(per_tile)
                .map(|b0| Tile {
                    images: b0..(b0 + per_tile).min(self.batch),
                    rows: 0..self.oh,
                })
                .collect()
        }
    }
}

/// Output rows `rows` of each image in `images` (several images only with all their rows).
#[derive(Clone, Debug)]
struct Tile {
    images: core::ops::Range<usize>,
    rows: core::ops::Range<usize>,
}

impl Tile {
    fn pixels_per_image(&self, g: &Geometry) -> usize {
        self.rows.len() * g.ow
    }

    fn pixels(&self, g: &Geometry) -> usize {
        self.images.len() * self.pixels_per_image(g)
    }

    /// Where the tile's pixels start within one output channel plane.
    fn plane_offset(&self, g: &Geometry) -> usize {
        self.rows.start * g.ow
    }
}

/// Input row of output row `o` at kernel row `ki`, if inside the image.
fn input_row(g: &Geometry, o: usize, ki: usize) -> Option<usize> {
    (o * g.stride[0] + ki * g.dilation[0])
        .checked_sub(g.pad[0])
        .filter(|&ih| ih < g.h)
}

/// Fills `col` (`k` rows of `tile.pixels()` values) with the tile's patches of group `group`.
fn im2col<T: ConvElement>(g: &Geometry, x: &[T], tile: &Tile, group: usize, col: &mut [T]) {
    let n = tile.pixels(g);
    let per_image = tile.pixels_per_image(g);
    for ci in 0..g.cin_g() {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let r = (ci * g.kh + ki) * g.kw + kj;
                let row = &mut col[r * n..(r + 1) * n];
                let (lo, hi) = valid_out_range(kj, g.dilation[1], g.pad[1], g.stride[1], g.w, g.ow);
                let src_col = |o: usize| o * g.stride[1] + kj * g.dilation[1] - g.pad[1];
                for (i, b) in tile.images.clone().enumerate() {
                    let plane = (b * g.c_in + group * g.cin_g() + ci) * g.h * g.w;
                    for (t, o) in tile.rows.clone().enumerate() {
                        let seg = &mut row[i * per_image + t * g.ow..][..g.ow];
                        let Some(ih) = input_row(g, o, ki) else {
                            seg.fill(T::ZERO);
                            continue;
                        };
                        seg[..lo].fill(T::ZERO);
                        seg[hi..].fill(T::ZERO);
                        let src = &x[plane + ih * g.w..][..g.w];
                        if lo == hi {
                            continue;
                        }
                        if g.stride[1] == 1 {
                            seg[lo..hi].copy_from_slice(&src[src_col(lo)..src_col(hi)]);
                        } else {
                            for (o2, v) in seg[lo..hi].iter_mut().enumerate() {
                                *v = src[src_col(lo + o2)];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adds `col` (as filled by [`im2col`]) back into the input-shaped `dx` of the tile's images,
/// `dx` starting at image `tile.images.start`.
fn col2im<T: ConvElement>(g: &Geometry, col: &[T], tile: &Tile, group: usize, dx: &mut [T]) {
    let n = tile.pixels(g);
    let per_image = tile.pixels_per_image(g);
    for ci in 0..g.cin_g() {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let r = (ci * g.kh + ki) * g.kw + kj;
                let row = &col[r * n..(r + 1) * n];
                let (lo, hi) = valid_out_range(kj, g.dilation[1], g.pad[1], g.stride[1], g.w, g.ow);
                let dst_col = |o: usize| o * g.stride[1] + kj * g.dilation[1] - g.pad[1];
                for i in 0..tile.images.len() {
                    let plane = (i * g.c_in + group * g.cin_g() + ci) * g.h * g.w;
                    for (t, o) in tile.rows.clone().enumerate() {
                        let Some(ih) = input_row(g, o, ki) else {
                            continue;
                        };
                        if lo == hi {
                            continue;
                        }
                        let seg = &row[i * per_image + t * g.ow..][..g.ow];
                        let dst = &mut dx[plane + ih * g.w..][..g.w];
                        if g.stride[1] == 1 {
                            let dst = &mut dst[dst_col(lo)..dst_col(hi)];
                            for (d, &s) in dst.iter_mut().zip(&seg[lo..hi]) {
                                *d = *d + s;
                            }
                        } else {
                            for (o2, &s) in seg[lo..hi].iter().enumerate() {
                                let d = &mut dst[dst_col(lo + o2)];
                                *d = *d + s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A matrix for `gemm::gemm`: element `(i, j)` at `ptr + i * rs + j * cs`.
#[derive(Clone, Copy)]
struct Mat<T> {
    ptr: *const T,
    rs: usize,
    cs: usize,
}

impl<T> Mat<T> {
    fn row_major(data: &[T], cols: usize) -> Self {
        Self {
            ptr: data.as_ptr(),
            rs: cols,
            cs: 1,
        }
    }

    fn transposed(self) -> Self {
        Self {
            ptr: self.ptr,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// `dst[m x n] (+)= lhs[m x k] . rhs[k x n]`, `dst` row-major with row stride `dst_rs`;
/// accumulates when `accumulate`.
///
/// # Safety
/// Every element the three views address must be in bounds, and no other thread may touch
/// `dst`'s elements while this runs.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm<T: ConvElement>(
    [m, n, k]: [usize; 3],
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    lhs: Mat<T>,
    rhs: Mat<T>,
    parallelism: gemm::Parallelism,
) {
    let alpha = if accumulate { T::ONE } else { T::ZERO };
    if !accumulate {
        // The destination may be reused scratch holding anything, Inf and NaN included (an
        // overflowed f16 step under dynamic loss scaling leaves Inf). gemm is told not to read
        // it, but a value that reached the result as `0 * Inf` would be NaN, and such a NaN
        // froze f16 training in `tests/train_posterior.rs` once the scratch was reused; so
        // the rows are cleared first.
        for i in 0..m {
            // SAFETY: row `i` of `dst` (`n` elements at `i * dst_rs`) is in bounds and
            // exclusive by the caller's contract.
            unsafe { core::slice::from_raw_parts_mut(dst.add(i * dst_rs), n) }.fill(T::ZERO);
        }
    }
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs.ptr,
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.ptr,
            rhs.cs as isize,
            rhs.rs as isize,
            alpha,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// The GEMM's own threads only when there are fewer tasks than threads (a single image).
fn inner_parallelism(tasks: usize) -> gemm::Parallelism {
    #[cfg(feature = "rayon")]
    if tasks < rayon::current_num_threads() {
        return gemm::Parallelism::Rayon(0);
    }
    let _ = tasks;
    gemm::Parallelism::None
}

/// Runs `f` on every task, in parallel with the `rayon` feature, each with a scratch buffer
/// of at least `scratch` elements (of unspecified content) that it may not keep.
fn for_each_task<I: Sync, T: ConvElement, F>(tasks: &[I], scratch: usize, f: F)
where
    F: Fn(&I, &mut [T]) + Sync + Send,
{
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        tasks
            .par_iter()
            .for_each(|task| with_scratch(scratch, |buf| f(task, buf)));
    }
    #[cfg(not(feature = "rayon"))]
    {
        with_scratch(scratch, |buf| tasks.iter().for_each(|task| f(task, buf)));
    }
}

#[cfg(feature = "std")]
std::thread_local! {
    /// Each thread's scratch, kept between calls (it grows to the largest column buffer
    /// asked of it, a few MiB for a VGG, and stays). glibc serves an allocation of that size
    /// with a fresh mapping whose every page the kernel faults in and clears; page clearing
    /// was 18 % of a VGG-16 training step under `perf`, from this and other allocations.
    static SCRATCH: core::cell::RefCell<Vec<u64>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Calls `f` with `len` elements of this thread's scratch, or of a fresh buffer when the
/// thread's is in use (a task that rayon started on this thread while another waited).
fn with_scratch<T: ConvElement, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    let words = (len * core::mem::size_of::<T>()).div_ceil(8);
    #[cfg(feature = "std")]
    {
        let mut f = Some(f);
        let reused = SCRATCH.with(|cell| {
            let mut buf = cell.try_borrow_mut().ok()?;
            if buf.len() < words {
                buf.resize(words, 0);
            }
            let elems: &mut [T] = bytemuck::cast_slice_mut(&mut buf[..words]);
            Some((f.take().expect("called once"))(&mut elems[..len]))
        });
        if let Some(r) = reused {
            return r;
        }
        f.take()
            .map(|f| f(&mut vec![T::ZERO; len]))
            .expect("called once")
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = words;
        f(&mut vec![T::ZERO; len])
    }
}

/// A raw pointer that worker threads may share; each writes a disjoint part.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);

// SAFETY: the passes below hand each task a disjoint part of the buffer behind the pointer.
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer; a method, so that closures capture the `Sync` wrapper, not its field.
    fn get(self) -> *mut T {
        self.0
    }
}

/// Gathers channels `c0..c0 + rows` of the tile's images from an NCHW tensor with `channels`
/// channels and `plane` pixels per channel into `out` (`rows` x `tile.pixels()`, row-major).
fn gather<T: ConvElement>(
    g: &Geometry,
    src: &[T],
    (channels, c0, rows): (usize, usize, usize),
    tile: &Tile,
    out: &mut [T],
) {
    let plane = g.out_pixels();
    let n = tile.pixels(g);
    for r in 0..rows {
        for (i, b) in tile.images.clone().enumerate() {
            let from = &src[(b * channels + c0 + r) * plane..][..plane];
            out[r * n + i * plane..][..plane].copy_from_slice(from);
        }
    }
}

/// A view of the output-shaped `dy` (or `y`) rows `c0..` for a tile within one image.
fn plane_view<T>(g: &Geometry, data: *const T, c0: usize, tile: &Tile) -> Mat<T> {
    let plane = g.out_pixels();
    let offset = (tile.images.start * g.c_out + c0) * plane + tile.plane_offset(g);
    Mat {
        ptr: data.wrapping_add(offset),
        rs: plane,
        cs: 1,
    }
}

fn output_tensor<T: ConvElement>(data: Vec<T>, shape: [usize; 4], dtype: DType) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::from(shape.to_vec())),
        dtype,
    )
}

/// Forward convolution.
///
/// # Shapes
/// x `[B, C_in, H, W]`, weight `[C_out, C_in / groups, KH, KW]`, bias `[C_out]`;
/// output `[B, C_out, OH, OW]`. Padding may differ between the two sides.
pub(crate) fn conv2d<T: ConvElement>(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let g = Geometry::new(x.layout().shape(), weight.layout().shape(), options);
    let (xs, ws): (&[T], &[T]) = (x.storage(), weight.storage());
    let (plane, k, cout_g) = (g.out_pixels(), g.k(), g.cout_g());
    let mut out = vec![T::ZERO; g.batch * g.c_out * plane];
    let has_bias = bias.is_some();
    if let Some(bias) = bias.map(|b| b.to_contiguous()) {
        let bias: &[T] = bias.storage();
        for (i, chunk) in out.chunks_mut(plane.max(1)).enumerate() {
            chunk.fill(bias[i % g.c_out]);
        }
    }
    let tiles = g.tiles();
    let par = inner_parallelism(tiles.len());
    let out_ptr = Shared(out.as_mut_ptr());
    for_each_task(
        &tiles,
        k * g.max_tile_pixels(&tiles),
        |tile, col: &mut [T]| {
            let n = tile.pixels(&g);
            let mut staged = Vec::new();
            for group in 0..g.groups {
                im2col(&g, xs, tile, group, col);
                let lhs = Mat::row_major(&ws[group * cout_g * k..], k);
                let rhs = Mat::row_major(&col[..k * n], n);
                let c0 = group * cout_g;
                if tile.images.len() == 1 {
                    let dst = plane_view(&g, out_ptr.get(), c0, tile).ptr as *mut T;
                    // SAFETY: the tile's rows of this image's channels are written by this task
                    // alone; `plane_view` stays inside `out`.
                    unsafe { gemm([cout_g, n, k], dst, plane, has_bias, lhs, rhs, par) };
                } else {
                    staged.resize(cout_g * n, T::ZERO);
                    // SAFETY: `staged` holds `cout_g x n`.
                    unsafe { gemm([cout_g, n, k], staged.as_mut_ptr(), n, false, lhs, rhs, par) };
                    // SAFETY: this tile's images are written by this task alone.
                    unsafe { scatter_add(&g, &staged, c0, tile, out_ptr) };
                }
            }
        },
    );
    output_tensor(out, [g.batch, g.c_out, g.oh, g.ow], x.dtype())
}

/// Adds `staged` (`cout_g` x `tile.pixels()`) into channels `c0..` of the tile's images.
///
/// # Safety
/// No other thread may write the tile's images while this runs.
unsafe fn scatter_add<T: ConvElement>(
    g: &Geometry,
    staged: &[T],
    c0: usize,
    tile: &Tile,
    out: Shared<T>,
) {
    let plane = g.out_pixels();
    let n = tile.pixels(g);
    for r in 0..g.cout_g() {
        for (i, b) in tile.images.clone().enumerate() {
            let offset = (b * g.c_out + c0 + r) * plane;
            // SAFETY: in bounds of the output; exclusive by the caller's contract.
            let dst = unsafe { core::slice::from_raw_parts_mut(out.get().add(offset), plane) };
            for (d, &s) in dst.iter_mut().zip(&staged[r * n + i * plane..][..plane]) {
                *d = *d + s;
            }
        }
    }
}

/// The geometry of a backward pass: the output size is the gradient's, not recomputed.
fn backward_geometry(
    x_shape: &[usize],
    w_shape: &[usize],
    dy_shape: &[usize],
    options: &ConvOptions<2>,
) -> Geometry {
    let mut g = Geometry::new(x_shape, w_shape, options);
    g.oh = dy_shape[2];
    g.ow = dy_shape[3];
    g
}

/// Gradient of the loss with respect to the weight.
///
/// # Shapes
/// x `[B, C_in, H, W]`, output_grad `[B, C_out, OH, OW]`; returns `w_shape`,
/// `[C_out, C_in / groups, KH, KW]`.
pub(crate) fn conv2d_weight_backward<T: ConvElement>(
    x: FlexTensor,
    w_shape: &[usize],
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (x, dy) = (x.to_contiguous(), output_grad.to_contiguous());
    let g = backward_geometry(x.layout().shape(), w_shape, dy.layout().shape(), options);
    let (xs, dys): (&[T], &[T]) = (x.storage(), dy.storage());
    let (k, cout_g, len) = (g.k(), g.cout_g(), g.c_out * g.k());
    let tiles = g.tiles();
    let slices: Vec<&[Tile]> = if tiles.is_empty() {
        Vec::new()
    } else {
        tiles
            .chunks(tiles.len().div_ceil(WEIGHT_PARTIALS))
            .collect()
    };
    let par = inner_parallelism(slices.len());
    let partials: Vec<Vec<T>> = map_tasks(&slices, |slice| {
        let mut dwt = vec![T::ZERO; len];
        let mut col = vec![T::ZERO; k * g.max_tile_pixels(slice)];
        let mut staged = Vec::new();
        for tile in slice.iter() {
            let n = tile.pixels(&g);
            for group in 0..g.groups {
                im2col(&g, xs, tile, group, &mut col);
                let c0 = group * cout_g;
                let lhs = if tile.images.len() == 1 {
                    plane_view(&g, dys.as_ptr(), c0, tile)
                } else {
                    staged.resize(cout_g * n, T::ZERO);
                    gather(&g, dys, (g.c_out, c0, cout_g), tile, &mut staged);
                    Mat::row_major(&staged, n)
                };
                // The transpose `dW^T += col(X) . dY^T`: gemm packs the operand whose rows
                // the result runs along, and this way that is `dY` (`cout_g x n`) rather than
                // the column buffer (`k x n`, 4.5x larger for a 3x3 layer doubling channels).
                let cols = Mat::row_major(&col[..k * n], n);
                let dst = dwt[c0..].as_mut_ptr();
                // SAFETY: `dwt` holds `k x c_out`; this group's columns `c0..c0 + cout_g` of
                // it; the views stay inside `dy` and `col`.
                unsafe {
                    gemm(
                        [k, cout_g, n],
                        dst,
                        g.c_out,
                        true,
                        cols,
                        lhs.transposed(),
                        par,
                    )
                };
            }
        }
        dwt
    });
    let mut dwt = vec![T::ZERO; len];
    for partial in partials {
        for (d, p) in dwt.iter_mut().zip(partial) {
            *d = *d + p;
        }
    }
    let mut dw = vec![T::ZERO; len];
    for (kk, row) in dwt.chunks_exact(g.c_out.max(1)).enumerate() {
        for (o, &v) in row.iter().enumerate() {
            dw[o * k + kk] = v;
        }
    }
    let shape = [w_shape[0], w_shape[1], w_shape[2], w_shape[3]];
    output_tensor(dw, shape, x.dtype())
}

/// Gradient of the loss with respect to the input.
///
/// # Shapes
/// weight `[C_out, C_in / groups, KH, KW]`, output_grad `[B, C_out, OH, OW]`; returns
/// `x_shape`, `[B, C_in, H, W]`.
pub(crate) fn conv2d_x_backward<T: ConvElement>(
    x_shape: &[usize],
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (weight, dy) = (weight.to_contiguous(), output_grad.to_contiguous());
    let g = backward_geometry(
        x_shape,
        weight.layout().shape(),
        dy.layout().shape(),
        options,
    );
    let (ws, dys): (&[T], &[T]) = (weight.storage(), dy.storage());
    let (k, cout_g, image) = (g.k(), g.cout_g(), g.c_in * g.h * g.w);
    let mut dx = vec![T::ZERO; g.batch * image];
    let tiles = g.tiles();
    // Tiles of one image add into overlapping input rows, so one task takes them all.
    let tasks: Vec<&[Tile]> = tiles.chunk_by(|a, b| a.images == b.images).collect();
    let par = inner_parallelism(tasks.len());
    let dx_ptr = Shared(dx.as_mut_ptr());
    for_each_task(
        &tasks,
        k * g.max_tile_pixels(&tiles),
        |task, col: &mut [T]| {
            let mut staged = Vec::new();
            for tile in task.iter() {
                let n = tile.pixels(&g);
                let start = tile.images.start * image;
                // SAFETY: the task's images are written by this task alone.
                let dx = unsafe {
                    core::slice::from_raw_parts_mut(
                        dx_ptr.get().add(start),
                        tile.images.len() * image,
                    )
                };
                for group in 0..g.groups {
                    let c0 = group * cout_g;
                    let rhs = if tile.images.len() == 1 {
                        plane_view(&g, dys.as_ptr(), c0, tile)
                    } else {
                        staged.resize(cout_g * n, T::ZERO);
                        gather(&g, dys, (g.c_out, c0, cout_g), tile, &mut staged);
                        Mat::row_major(&staged, n)
                    };
                    let lhs = Mat::row_major(&ws[c0 * k..], k).transposed();
                    // SAFETY: `col` holds `k x n`; the views stay inside the weight and `dy`.
                    unsafe { gemm([k, n, cout_g], col.as_mut_ptr(), n, false, lhs, rhs, par) };
                    col2im(&g, &col[..k * n], tile, group, dx);
                }
            }
        },
    );
    let shape = [x_shape[0], x_shape[1], x_shape[2], x_shape[3]];
    output_tensor(dx, shape, weight.dtype())
}

/// Gradient of the loss with respect to the bias: `dy` summed over the batch and the pixels.
///
/// Burn's default swaps `dy`'s batch and channel axes, copies it contiguous and sums each
/// row: a full copy of the output gradient per layer (0.7 ms of a 1.2 ms backward pass for a
/// 3x3 layer of 8 channels at 64x64, batch 16). Here each channel's planes are summed in
/// place, in a fixed order (16 running sums per plane, then plane after plane), so the result
/// does not depend on the thread count.
///
/// # Shapes
/// output_grad `[B, C_out, OH, OW]`; returns `[C_out]`.
pub(crate) fn conv2d_bias_backward<T: ConvElement>(output_grad: FlexTensor) -> FlexTensor {
    let dy = output_grad.to_contiguous();
    let &[batch, c_out, oh, ow] = dy.layout().shape().as_slice() else {
        panic!("conv2d_bias_backward: the output gradient must be 4-D");
    };
    let dys: &[T] = dy.storage();
    let plane = oh * ow;
    let channels: Vec<usize> = (0..c_out).collect();
    let sums = map_tasks(&channels, |&c| {
        (0..batch).fold(T::ZERO, |acc, b| {
            acc + plane_sum(&dys[(b * c_out + c) * plane..][..plane])
        })
    });
    FlexTensor::new(
        Bytes::from_elems(sums),
        Layout::contiguous(Shape::from(vec![c_out])),
        dy.dtype(),
    )
}

/// Sum of `values` with 16 running sums, which the compiler keeps in vector registers.
fn plane_sum<T: ConvElement>(values: &[T]) -> T {
    const LANES: usize = 16;
    let mut lanes = [T::ZERO; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = *lane + v;
        }
    }
    let tail = rest.iter().fold(T::ZERO, |acc, &v| acc + v);
    lanes.into_iter().fold(T::ZERO, |acc, v| acc + v) + tail
}

/// Maps every task to a value, in parallel with the `rayon` feature, keeping their order.
fn map_tasks<I: Sync, R: Send, F>(tasks: &[I], f: F) -> Vec<R>
where
    F: Fn(&I) -> R + Sync + Send,
{
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        tasks.par_iter().map(f).collect()
    }
    #[cfg(not(feature = "rayon"))]
    {
        tasks.iter().map(f).collect()
    }
}
