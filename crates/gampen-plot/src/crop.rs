//! The spatial transformer's crops: each input cutout with the region it sampled outlined,
//! next to the image the transformer produced.

use std::path::Path;

use plotters::prelude::*;

use crate::style::{self, check_len, quantile, render, sorted_finite, text};
use crate::PlotError;

const PLOT: &str = "crop grid";
/// Canvas width the tiles are sized to fill.
const TARGET_WIDTH: u32 = 1300;
const PAD: u32 = 12;
const LABEL: u32 = 24;
const TITLE: u32 = 50;
const BOX_COLOR: RGBColor = RGBColor(230, 40, 40);

/// A single-band image, row-major: pixel `(x, y)` is `data[y * width + x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Image2d {
    /// Number of columns.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// `width * height` values, row after row.
    pub data: Vec<f32>,
}

/// The input-pixel bounding box `[x0, y0, x1, y1]` of the region an affine `theta` samples.
///
/// `theta` is PyTorch's row-major 2x3 matrix `[a, b, tx, c, d, ty]` as passed to
/// `affine_grid(..., align_corners=True)`: an output point with normalised coordinates
/// `(u, v)` in `[-1, 1]` reads the input at `(a u + b v + tx, c u + d v + ty)`, and
/// normalised `x` is input column `(x + 1) (width - 1) / 2` (likewise rows). The box bounds the
/// four output corners, so for a rotation it is the enclosing axis-aligned box. Coordinates are
/// pixel centres: the identity gives `[0, 0, width - 1, height - 1]`, and the box may reach
/// outside the image when the transformer samples beyond it.
pub fn crop_box_from_theta(theta: [f32; 6], width: usize, height: usize) -> [f64; 4] {
    let [a, b, tx, c, d, ty] = theta.map(f64::from);
    let corners = [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)];
    let xs = corners.map(|(u, v)| a * u + b * v + tx);
    let ys = corners.map(|(u, v)| c * u + d * v + ty);
    let to_px = |n: f64, size: usize| (n + 1.0) * (size as f64 - 1.0) / 2.0;
    let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
    let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
    [
        to_px(min(xs), width),
        to_px(min(ys), height),
        to_px(max(xs), width),
        to_px(max(ys), height),
    ]
}

/// Writes a grid of `(input, crop)` pairs, `columns` pairs to a row. Each input is shown with
/// its crop box (from [`crop_box_from_theta`]) outlined in red; the cropped image sits to its
/// right. Both are stretched independently: linear between the 0.5 and 99.5 percentiles, then
/// asinh, which shows faint outskirts without saturating the core. Non-finite pixels are
/// drawn black and boxes with non-finite corners are not drawn.
///
/// # Shapes
/// - `images`, `boxes`, `cropped`: `[n_galaxies]`; every image needs `data.len() == width * height`
pub fn crop_grid(
    path: &Path,
    images: &[Image2d],
    boxes: &[[f64; 4]],
    cropped: &[Image2d],
    columns: usize,
) -> Result<(), PlotError> {
    let invalid = |reason: String| PlotError::InvalidInput {
        plot: PLOT,
        path: path.to_path_buf(),
        reason,
    };
    if columns == 0 {
        return Err(invalid("columns must be at least 1".into()));
    }
    if images.is_empty() {
        return Err(style::empty(PLOT, path));
    }
    check_len(PLOT, path, "boxes", images.len(), boxes.len())?;
    check_len(PLOT, path, "cropped", images.len(), cropped.len())?;
    for (what, list) in [("images", images), ("cropped", cropped)] {
        for (i, im) in list.iter().enumerate() {
            if im.width == 0 || im.height == 0 || im.data.len() != im.width * im.height {
                return Err(invalid(format!(
                    "{what}[{i}] is {}x{} with {} values",
                    im.width,
                    im.height,
                    im.data.len()
                )));
            }
        }
    }

    let columns = columns.min(images.len());
    let rows = images.len().div_ceil(columns);
    let tile = (TARGET_WIDTH / (2 * columns as u32))
        .saturating_sub(PAD)
        .clamp(64, 256);
    let cell = (2 * tile + 3 * PAD, tile + LABEL + PAD);
    let size = (columns as u32 * cell.0, TITLE + rows as u32 * cell.1);

    render(path, size, |root| {
        root.draw_text(
            "Spatial-transformer crops (red: region sampled from the input)",
            &text(26),
            (PAD as i32, 12),
        )?;
        for (i, ((input, bbox), crop)) in images.iter().zip(boxes).zip(cropped).enumerate() {
            let x = ((i % columns) as u32 * cell.0 + PAD) as i32;
            let y = (TITLE + (i / columns) as u32 * cell.1 + LABEL) as i32;
            let label_y = y - LABEL as i32 + 2;
            root.draw_text(&format!("input {i}"), &text(17), (x, label_y))?;
            let scale = draw_image(root, input, (x, y), tile)?;
            if bbox.iter().all(|v| v.is_finite()) {
                draw_box(root, bbox, input, (x, y), scale)?;
            }
            let x_crop = x + (tile + PAD) as i32;
            root.draw_text(&format!("crop {i}"), &text(17), (x_crop, label_y))?;
            draw_image(root, crop, (x_crop, y), tile)?;
        }
        Ok(())
    })
}

/// Draws `image` scaled (nearest neighbour, aspect kept) to fit a `tile`-pixel square with its
/// top-left corner at `at`; returns the scale in canvas pixels per image pixel.
fn draw_image(
    root: &style::Area<'_>,
    image: &Image2d,
    at: (i32, i32),
    tile: u32,
) -> Result<f64, Box<dyn std::error::Error>> {
    let scale = f64::from(tile) / image.width.max(image.height) as f64;
    let w = ((image.width as f64 * scale).round() as u32).max(1);
    let h = ((image.height as f64 * scale).round() as u32).max(1);
    let gray = stretch(&image.data);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for ty in 0..h {
        let sy = ((f64::from(ty) / scale) as usize).min(image.height - 1);
        for tx in 0..w {
            let sx = ((f64::from(tx) / scale) as usize).min(image.width - 1);
            let g = gray[sy * image.width + sx];
            rgb.extend_from_slice(&[g, g, g]);
        }
    }
    let element = BitMapElement::with_owned_buffer(at, (w, h), rgb)
        .ok_or("bitmap buffer has the wrong size")?;
    root.draw(&element)?;
    root.draw(&Rectangle::new(
        [(at.0 - 1, at.1 - 1), (at.0 + w as i32, at.1 + h as i32)],
        BLACK.mix(0.3),
    ))?;
    Ok(scale)
}

/// Outlines `bbox` (pixel centres of `image`) over the drawn image, clipped to it since
/// plotters does not clip.
fn draw_box(
    root: &style::Area<'_>,
    bbox: &[f64; 4],
    image: &Image2d,
    at: (i32, i32),
    scale: f64,
) -> style::DrawResult {
    let (w, h) = (image.width as f64 * scale, image.height as f64 * scale);
    // Pixel i covers [i, i + 1) of the image, so its centre is drawn at (i + 0.5) * scale.
    let to = |c: f64, limit: f64| ((c + 0.5) * scale).clamp(0.0, limit - 1.0).round() as i32;
    let (x0, x1) = (to(bbox[0].min(bbox[2]), w), to(bbox[0].max(bbox[2]), w));
    let (y0, y1) = (to(bbox[1].min(bbox[3]), h), to(bbox[1].max(bbox[3]), h));
    root.draw(&Rectangle::new(
        [(at.0 + x0, at.1 + y0), (at.0 + x1, at.1 + y1)],
        BOX_COLOR.stroke_width(2),
    ))?;
    Ok(())
}

/// Grey levels for `data`: linear between the 0.5 and 99.5 percentiles of the finite values,
/// then `asinh(x / SOFT) / asinh(1 / SOFT)`.
fn stretch(data: &[f32]) -> Vec<u8> {
    const SOFT: f64 = 0.1;
    let values: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
    let sorted = sorted_finite(&values);
    if sorted.is_empty() {
        return vec![0; data.len()];
    }
    let lo = quantile(&sorted, 0.005);
    let hi = quantile(&sorted, 0.995);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let norm = (1.0 / SOFT).asinh();
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return 0;
            }
            let x = ((v - lo) / span).clamp(0.0, 1.0);
            ((x / SOFT).asinh() / norm * 255.0).round() as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::tests::png_size;

    fn assert_box(got: [f64; 4], want: [f64; 4]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn identity_theta_is_the_full_image() {
        let bbox = crop_box_from_theta([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 100, 80);
        assert_box(bbox, [0.0, 0.0, 99.0, 79.0]);
    }

    #[test]
    fn half_scale_theta_is_the_centre_half() {
        let bbox = crop_box_from_theta([0.5, 0.0, 0.0, 0.0, 0.5, 0.0], 101, 81);
        assert_box(bbox, [25.0, 20.0, 75.0, 60.0]);
    }

    #[test]
    fn translation_and_rotation() {
        // Shifted right by half the normalised width: the right half of the centre band.
        let bbox = crop_box_from_theta([0.5, 0.0, 0.5, 0.0, 0.5, 0.0], 101, 101);
        assert_box(bbox, [50.0, 25.0, 100.0, 75.0]);
        // A quarter turn samples the whole (square) image.
        let bbox = crop_box_from_theta([0.0, -1.0, 0.0, 1.0, 0.0, 0.0], 64, 64);
        assert_box(bbox, [0.0, 0.0, 63.0, 63.0]);
    }

    /// A Sérsic-like blob with a bright core, so the stretch has something to show.
    fn galaxy(size: usize, cx: f64, cy: f64, r: f64) -> Image2d {
        let data = (0..size * size)
            .map(|k| {
                let (x, y) = ((k % size) as f64, (k / size) as f64);
                let d = ((x - cx).powi(2) + ((y - cy) * 1.6).powi(2)).sqrt();
                (100.0 * (-(d / r).powf(0.5) * 3.0).exp() + 0.01 * ((k * 7919) % 97) as f64) as f32
            })
            .collect();
        Image2d {
            width: size,
            height: size,
            data,
        }
    }

    #[test]
    fn writes_a_png_of_the_stated_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crops.png");
        let thetas = [
            [0.5, 0.0, 0.0, 0.0, 0.5, 0.0],
            [0.3, 0.0, 0.1, 0.0, 0.3, -0.1],
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [0.6, 0.0, 0.6, 0.0, 0.6, 0.0],
            [0.4, -0.2, 0.0, 0.2, 0.4, 0.0],
        ];
        let images: Vec<_> = (0..5)
            .map(|i| galaxy(120, 60.0 + 3.0 * i as f64, 58.0, 8.0))
            .collect();
        let boxes: Vec<_> = thetas
            .iter()
            .map(|&t| crop_box_from_theta(t, 120, 120))
            .collect();
        let mut cropped: Vec<_> = (0..5).map(|_| galaxy(40, 20.0, 20.0, 4.0)).collect();
        cropped[1].data[0] = f32::NAN;
        crop_grid(&path, &images, &boxes, &cropped, 3).unwrap();
        let (w, h) = png_size(&path);
        let tile = TARGET_WIDTH / 6 - PAD;
        assert_eq!(
            (w, h),
            (3 * (2 * tile + 3 * PAD), TITLE + 2 * (tile + LABEL + PAD))
        );
    }

    #[test]
    fn errors() {
        let path = Path::new("crops.png");
        let im = galaxy(8, 4.0, 4.0, 2.0);
        let bbox = [0.0, 0.0, 7.0, 7.0];
        let err = crop_grid(path, &[], &[], &[], 2).unwrap_err();
        assert!(matches!(err, PlotError::Empty { plot: PLOT, .. }), "{err}");
        let one = std::slice::from_ref(&im);
        let err = crop_grid(path, one, &[bbox], one, 0).unwrap_err();
        assert!(matches!(err, PlotError::InvalidInput { .. }), "{err}");
        let err = crop_grid(path, one, &[], one, 1).unwrap_err();
        assert!(matches!(err, PlotError::LengthMismatch { .. }), "{err}");
        let bad = Image2d {
            width: 3,
            height: 3,
            data: vec![0.0; 8],
        };
        let err = crop_grid(path, &[im], &[bbox], &[bad], 1).unwrap_err();
        assert!(err.to_string().contains("cropped[0]"), "{err}");
    }
}
