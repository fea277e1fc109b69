//! What every plot shares: the embedded font, rendering to a PNG file, colours, and the small
//! numeric helpers that keep NaN/inf out of the drawing.

use std::fs::File;
use std::io::BufWriter;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::PlotError;

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`). Embedded so text
/// renders on machines with no system fonts and no fontconfig.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name plotters asks for by default (axis labels, legends), so registering under
/// it makes every text element use the embedded font.
pub(crate) const FAMILY: &str = "sans-serif";

pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// plotters' error type is generic over the backend; boxing keeps the drawing code terse and
/// [`render`] turns it into [`PlotError::Draw`] naming the file.
pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn ensure_font() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok())
}

/// Draws into an in-memory RGB canvas of `size` pixels (white background) and writes it to
/// `path` as a PNG.
pub(crate) fn render(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> DrawResult,
) -> Result<(), PlotError> {
    if !ensure_font() {
        return Err(PlotError::Font {
            path: path.to_path_buf(),
        });
    }
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Into::into));
        drawn.map_err(|e| PlotError::Draw {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    write_png(path, width, height, &buf)
}

fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), PlotError> {
    let io = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let encode = |source| PlotError::Encode {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(io)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(rgb).map_err(encode)?;
    writer.finish().map_err(encode)
}

/// Text in the embedded font.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// matplotlib's "tab10", so parameters keep the colours people expect from the Python plots.
pub(crate) fn color(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = TAB10[i % TAB10.len()];
    RGBColor(r, g, b)
}

/// Rows and columns for `n` panels, at most `max_cols` side by side.
pub(crate) fn grid_shape(n: usize, max_cols: usize) -> (usize, usize) {
    let cols = n.clamp(1, max_cols.max(1));
    (n.div_ceil(cols), cols)
}

/// Smallest and largest finite value, or `None` when there is none.
pub(crate) fn finite_min_max(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// `lo..hi` widened by `frac` of its width on each side. plotters divides by the width, so a
/// single value is given a width of its own.
pub(crate) fn padded((lo, hi): (f64, f64), frac: f64) -> Range<f64> {
    let width = hi - lo;
    if width > f64::EPSILON * lo.abs().max(hi.abs()).max(1.0) {
        (lo - frac * width)..(hi + frac * width)
    } else {
        let half = if lo == 0.0 { 0.5 } else { 0.1 * lo.abs() };
        (lo - half)..(hi + half)
    }
}

/// Linear-interpolated quantile `q` in `[0, 1]` of an ascending, non-empty slice.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = pos.floor() as usize;
    let above = pos.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (pos - below as f64)
}

/// The finite values, sorted ascending.
pub(crate) fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Counts of `values` in `bins` equal bins over `range`; values outside it are not counted.
pub(crate) fn histogram(values: &[f64], range: &Range<f64>, bins: usize) -> Vec<usize> {
    let mut counts = vec![0; bins];
    let width = (range.end - range.start) / bins as f64;
    for &v in values {
        if v.is_finite() && v >= range.start && v <= range.end {
            let i = (((v - range.start) / width) as usize).min(bins - 1);
            counts[i] += 1;
        }
    }
    counts
}

/// About three significant digits, switching to exponent notation for very small or large
/// magnitudes, like C's `%.3g`.
pub(crate) fn fmt_num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor();
    if !(-3.0..5.0).contains(&magnitude) {
        format!("{x:.2e}")
    } else {
        format!("{x:.*}", (2.0 - magnitude).max(0.0) as usize)
    }
}

/// Tick label for an axis of whole numbers (epochs, counts): ticks that fall between
/// integers stay unlabelled rather than printing "2.5 epochs".
pub(crate) fn integer_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

/// Fails unless `found == expected`.
pub(crate) fn check_len(
    plot: &'static str,
    path: &Path,
    what: impl Into<String>,
    expected: usize,
    found: usize,
) -> Result<(), PlotError> {
    if expected == found {
        Ok(())
    } else {
        Err(PlotError::LengthMismatch {
            plot,
            path: path.to_path_buf(),
            what: what.into(),
            expected,
            found,
        })
    }
}

pub(crate) fn empty(plot: &'static str, path: &Path) -> PlotError {
    PlotError::Empty {
        plot,
        path: path.to_path_buf(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Width and height from a PNG's IHDR chunk, after checking the signature and that the
    /// whole file decodes. With `GAMPEN_PLOT_DUMP=dir` set the PNG is also copied there, to
    /// look at what the tests drew.
    pub(crate) fn png_size(path: &Path) -> (u32, u32) {
        if let Some(dir) = std::env::var_os("GAMPEN_PLOT_DUMP") {
            std::fs::copy(path, Path::new(&dir).join(path.file_name().unwrap())).unwrap();
        }
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(
            &bytes[..8],
            b"\x89PNG\r\n\x1a\n",
            "not a PNG: {}",
            path.display()
        );
        assert_eq!(&bytes[12..16], b"IHDR");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut out = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut out).unwrap();
        (width, height)
    }

    #[test]
    fn padded_gives_degenerate_ranges_a_width() {
        assert_eq!(padded((0.0, 0.0), 0.05), -0.5..0.5);
        let r = padded((2.0, 2.0), 0.05);
        assert!(r.start < 2.0 && r.end > 2.0);
        assert_eq!(padded((0.0, 10.0), 0.1), -1.0..11.0);
    }

    #[test]
    fn fmt_num_keeps_three_digits() {
        assert_eq!(fmt_num(0.012345), "0.0123");
        assert_eq!(fmt_num(-1.5), "-1.50");
        assert_eq!(fmt_num(123.4), "123");
        assert_eq!(fmt_num(1.5e-5), "1.50e-5");
        assert_eq!(fmt_num(0.0), "0");
    }

    #[test]
    fn quantile_interpolates() {
        let v = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(quantile(&v, 0.5), 1.5);
        assert_eq!(quantile(&v, 0.0), 0.0);
        assert_eq!(quantile(&v, 1.0), 3.0);
    }

    #[test]
    fn histogram_skips_non_finite_and_keeps_the_top_edge() {
        let counts = histogram(
            &[0.0, 0.5, 1.0, f64::NAN, f64::INFINITY, 2.0],
            &(0.0..1.0),
            2,
        );
        assert_eq!(counts, vec![1, 2]);
    }
}
