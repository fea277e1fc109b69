//! Reading images from FITS files: primary HDUs and `IMAGE` extensions, every integer and
//! floating-point `BITPIX`, `BSCALE`/`BZERO`/`BLANK`, 2-D images and 3-D cubes.
//!
//! The whole file is read into memory (cutouts are small) and checked against its header:
//! a truncated or corrupt file is an error naming the file, never a zero-filled image.
//!
//! Every size read from a header is checked arithmetic (an overflow is an error, never a
//! panic or a wrapped value), and the data size it implies is compared with the bytes the
//! file actually has before anything is allocated for it, so no header can make the reader
//! allocate more than a small multiple of the file's size.

use std::path::Path;

use super::header::{parse_card, HeaderValue, BLOCK, CARD};
use crate::{DataError, Image};

/// Which HDU to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HduSelect {
    /// The first HDU holding an image of at least two axes (the primary HDU, or the first
    /// `IMAGE` extension when the primary HDU is empty, as in most survey cutouts).
    #[default]
    FirstImage,
    /// The HDU with this 0-based index (0 = primary).
    Index(usize),
}

/// The value cards of one header, in file order (commentary cards dropped).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// `(keyword, value)` pairs.
    pub cards: Vec<(String, HeaderValue)>,
}

impl Header {
    /// The value of `keyword`, if present (the first occurrence).
    pub fn get(&self, keyword: &str) -> Option<&HeaderValue> {
        self.cards
            .iter()
            .find(|(k, _)| k == keyword)
            .map(|(_, v)| v)
    }
}

/// Reads the first image HDU of `path` (see [`HduSelect::FirstImage`]).
///
/// # Shapes
/// Returns `[bands, height, width]` with `bands = NAXIS3` for a cube and 1 for a 2-D image.
pub fn read_fits(path: impl AsRef<Path>) -> Result<Image, DataError> {
    read_fits_hdu(path, HduSelect::FirstImage).map(|(img, _)| img)
}

/// Reads the selected HDU of `path`, with its header.
///
/// `path` must be a regular file: a directory, FIFO or device is an error rather than a
/// read that could block or never end.
pub fn read_fits_hdu(
    path: impl AsRef<Path>,
    select: HduSelect,
) -> Result<(Image, Header), DataError> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if !meta.is_file() {
        return Err(DataError::fits(path, "not a regular file"));
    }
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_fits(&bytes, path, select)
}

/// Decodes an in-memory FITS file; `path` only names the file in errors.
pub fn decode_fits(
    bytes: &[u8],
    path: &Path,
    select: HduSelect,
) -> Result<(Image, Header), DataError> {
    let mut offset = 0usize;
    let mut index = 0usize;
    loop {
        if offset >= bytes.len() {
            let what = match select {
                HduSelect::FirstImage => "no HDU holds an image with 2 or more axes".to_string(),
                HduSelect::Index(i) => format!("HDU {i} requested but the file has {index}"),
            };
            return Err(DataError::fits(path, what));
        }
        let (header, data_start) = parse_header(bytes, offset, index, path)?;
        let hdu = HduInfo::from_header(&header, index, path)?;
        let wanted = match select {
            HduSelect::FirstImage => hdu.is_image && hdu.dims.len() >= 2,
            HduSelect::Index(i) => i == index,
        };
        if wanted && !hdu.is_image {
            return Err(DataError::fits(
                path,
                format!("HDU {index} is not an image ({:?})", hdu.kind),
            ));
        }
        // Checked against the file before anything is allocated for the data.
        let data_end = data_start
            .checked_add(hdu.data_len)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| truncated(path, index, data_start, hdu.data_len, bytes.len()))?;
        if wanted {
            let image = decode_image(&bytes[data_start..data_end], &hdu, &header, index, path)?;
            return Ok((image, header));
        }
        if hdu.compressed && select == HduSelect::FirstImage {
            return Err(DataError::fits(
                path,
                format!("HDU {index} is a tile-compressed image (ZIMAGE); uncompress it first (e.g. funpack)"),
            ));
        }
        // data_end <= bytes.len(), so the padding cannot overflow; saturating all the same,
        // an offset past the end ends the loop with its own message.
        offset = data_start.saturating_add(hdu.data_len.div_ceil(BLOCK).saturating_mul(BLOCK));
        index += 1;
    }
}

fn truncated(path: &Path, index: usize, start: usize, len: usize, have: usize) -> DataError {
    DataError::fits(
        path,
        format!(
            "truncated: the header of HDU {index} announces {len} data bytes from byte {start} \
             but the file has {have} bytes"
        ),
    )
}

/// Parses the header starting at `offset`; returns it and the offset of its data.
fn parse_header(
    bytes: &[u8],
    offset: usize,
    index: usize,
    path: &Path,
) -> Result<(Header, usize), DataError> {
    let mut header = Header::default();
    let mut pos = offset;
    loop {
        let Some(block) = bytes.get(pos..).and_then(|rest| rest.get(..BLOCK)) else {
            return Err(DataError::fits(
                path,
                format!(
                    "truncated or corrupt header of HDU {index}: no END card in the {} bytes \
                     from byte {offset} (file has {} bytes)",
                    bytes.len().saturating_sub(offset),
                    bytes.len()
                ),
            ));
        };
        for (i, card) in block.chunks_exact(CARD).enumerate() {
            if card.starts_with(b"END") && card[3..].iter().all(|&c| c == b' ') {
                return Ok((header, pos + BLOCK));
            }
            let number = (pos - offset) / CARD + i + 1;
            let parsed = parse_card(card).map_err(|r| {
                DataError::fits(path, format!("HDU {index}, header card {number}: {r}"))
            })?;
            if let Some(kv) = parsed {
                header.cards.push(kv);
            }
        }
        if header.cards.is_empty() {
            return Err(DataError::fits(
                path,
                format!("HDU {index} at byte {offset} does not start with a header card"),
            ));
        }
        pos += BLOCK;
    }
}

/// What the mandatory keywords say about an HDU.
struct HduInfo {
    bitpix: i64,
    dims: Vec<usize>,
    data_len: usize,
    is_image: bool,
    compressed: bool,
    kind: String,
}

/// Keywords whose value sizes the data or scales it: a second card with another value
/// would make the file mean different things to different readers.
const SINGLE_VALUED: [&str; 9] = [
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "BLANK",
];

/// The value of `key` in `h`, or an error when it appears twice with different values.
fn unique<'h>(h: &'h Header, key: &str) -> Result<Option<&'h HeaderValue>, String> {
    let mut values = h.cards.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
    let first = values.next();
    match (first, values.find(|v| Some(*v) != first)) {
        (Some(a), Some(b)) => Err(format!("{key} appears twice, as {a:?} and as {b:?}")),
        _ => Ok(first),
    }
}

/// A non-negative integer keyword as a size, or an error naming it.
fn size_of(h: &Header, key: &str, default: Option<usize>) -> Result<usize, String> {
    match (unique(h, key)?, default) {
        (None, Some(d)) => Ok(d),
        (None, None) => Err(format!("missing {key}")),
        (Some(HeaderValue::Integer(n)), _) if *n < 0 => Err(format!("negative {key} = {n}")),
        (Some(HeaderValue::Integer(n)), _) => {
            usize::try_from(*n).map_err(|_| format!("{key} = {n} is too large"))
        }
        (Some(v), _) => Err(format!("{key} is not an integer ({v:?})")),
    }
}

impl HduInfo {
    fn from_header(h: &Header, index: usize, path: &Path) -> Result<Self, DataError> {
        let bad = |reason: String| DataError::fits(path, format!("HDU {index}: {reason}"));
        for key in SINGLE_VALUED {
            unique(h, key).map_err(bad)?;
        }
        let kind = hdu_kind(h, index).map_err(bad)?;
        let bitpix = match unique(h, "BITPIX").map_err(bad)? {
            Some(HeaderValue::Integer(b)) if [8, 16, 32, 64, -32, -64].contains(b) => *b,
            Some(HeaderValue::Integer(b)) => return Err(bad(format!("invalid BITPIX {b}"))),
            _ => return Err(bad("missing or non-integer BITPIX".into())),
        };
        let naxis = size_of(h, "NAXIS", None).map_err(bad)?;
        if naxis > 999 {
            return Err(bad(format!("invalid NAXIS {naxis} (at most 999)")));
        }
        let dims = (1..=naxis)
            .map(|i| size_of(h, &format!("NAXIS{i}"), None))
            .collect::<Result<Vec<usize>, String>>()
            .map_err(bad)?;
        let data_len = data_len(h, index, bitpix, &dims).map_err(bad)?;
        Ok(HduInfo {
            bitpix,
            dims,
            data_len,
            is_image: index == 0 || kind == "IMAGE",
            compressed: h.get("ZIMAGE") == Some(&HeaderValue::Logical(true)),
            kind,
        })
    }
}

/// `PRIMARY` for HDU 0 (which must start with `SIMPLE = T`), else the `XTENSION` value.
fn hdu_kind(h: &Header, index: usize) -> Result<String, String> {
    let first = h.cards.first().map(|(k, _)| k.as_str()).unwrap_or("");
    if index == 0 {
        if first != "SIMPLE" || h.get("SIMPLE") != Some(&HeaderValue::Logical(true)) {
            return Err("not a FITS file (first card is not SIMPLE = T)".into());
        }
        return Ok("PRIMARY".into());
    }
    match h.get("XTENSION") {
        Some(HeaderValue::Text(t)) if first == "XTENSION" => Ok(t.clone()),
        _ => Err("extension header does not start with XTENSION".into()),
    }
}

/// Bytes of data the header announces: `|BITPIX| / 8 * GCOUNT * (PCOUNT + NAXIS1 * ...)`,
/// with `NAXIS1` left out of the product for random groups (`GROUPS = T`, `NAXIS1 = 0`).
fn data_len(h: &Header, index: usize, bitpix: i64, dims: &[usize]) -> Result<usize, String> {
    let pcount = size_of(h, "PCOUNT", Some(0))?;
    let gcount = size_of(h, "GCOUNT", Some(1))?;
    let groups = index == 0
        && dims.first() == Some(&0)
        && h.get("GROUPS") == Some(&HeaderValue::Logical(true));
    let axes = if groups { &dims[1..] } else { dims };
    let elements = if dims.is_empty() {
        Some(0)
    } else {
        axes.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
    };
    let width = (bitpix.unsigned_abs() / 8) as usize;
    elements
        .and_then(|e| e.checked_add(pcount))
        .and_then(|e| e.checked_mul(gcount))
        .and_then(|e| e.checked_mul(width))
        .ok_or_else(|| {
            format!(
                "data size overflows: axes {dims:?}, PCOUNT {pcount}, GCOUNT {gcount}, \
                 {width} bytes per value"
            )
        })
}

/// The affine map `physical = bzero + bscale * raw` of the pixel values.
#[derive(Clone, Copy)]
struct Scaling {
    bscale: f64,
    bzero: f64,
}

impl Scaling {
    /// `BSCALE` and `BZERO` of `header`: finite, and `BSCALE` non-zero (a zero would map
    /// every pixel to `BZERO`, an image that reads fine and means nothing).
    fn of(header: &Header) -> Result<Self, String> {
        let real = |key: &str, default: f64| -> Result<f64, String> {
            match unique(header, key)? {
                None => Ok(default),
                Some(v) => v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    format!("degenerate scaling: {key} = {v:?} is not a finite number")
                }),
            }
        };
        let bscale = real("BSCALE", 1.0)?;
        let bzero = real("BZERO", 0.0)?;
        if bscale == 0.0 {
            return Err("degenerate scaling: BSCALE = 0 maps every pixel to BZERO".into());
        }
        Ok(Scaling { bscale, bzero })
    }

    fn is_identity(self) -> bool {
        self.bscale == 1.0 && self.bzero == 0.0
    }
}

fn decode_image(
    data: &[u8],
    hdu: &HduInfo,
    header: &Header,
    index: usize,
    path: &Path,
) -> Result<Image, DataError> {
    let bad = |reason: String| DataError::fits(path, format!("HDU {index}: {reason}"));
    let (bands, height, width) = image_shape(&hdu.dims).map_err(bad)?;
    let scaling = Scaling::of(header).map_err(bad)?;
    let blank = match (hdu.bitpix > 0, unique(header, "BLANK").map_err(bad)?) {
        (true, Some(HeaderValue::Integer(b))) => Some(*b),
        (true, Some(v)) => return Err(bad(format!("BLANK is not an integer ({v:?})"))),
        // The standard defines BLANK for integer data only; floats mark blanks with NaN.
        (_, _) => None,
    };
    let size = (hdu.bitpix.unsigned_abs() / 8) as usize;
    let n = bands
        .checked_mul(height)
        .and_then(|p| p.checked_mul(width))
        .ok_or_else(|| bad(format!("image size {:?} overflows", hdu.dims)))?;
    let data = n
        .checked_mul(size)
        .and_then(|need| data.get(..need))
        .ok_or_else(|| {
            bad(format!(
                "GCOUNT/PCOUNT leave {} data bytes for {n} pixels",
                data.len()
            ))
        })?;
    let pixels = decode_pixels(data, hdu.bitpix, scaling, blank).map_err(|(i, raw)| {
        bad(format!(
            "degenerate scaling: BSCALE = {} and BZERO = {} take pixel {i} (raw value {raw}) \
             beyond the range of f32",
            scaling.bscale, scaling.bzero
        ))
    })?;
    Ok(Image::new(pixels, bands, height, width))
}

/// `(bands, height, width)` of a 2-D image or 3-D cube (further axes of length 1).
fn image_shape(dims: &[usize]) -> Result<(usize, usize, usize), String> {
    if dims.len() < 2 {
        return Err(format!(
            "NAXIS = {} but an image needs 2 (or 3 for a cube)",
            dims.len()
        ));
    }
    if dims.iter().skip(3).any(|&d| d != 1) {
        return Err(format!(
            "{}-D data with axes {dims:?}: only 2-D images and 3-D cubes are read",
            dims.len()
        ));
    }
    let (width, height) = (dims[0], dims[1]);
    let bands = dims.get(2).copied().unwrap_or(1);
    if width == 0 || height == 0 || bands == 0 {
        return Err(format!("empty image with axes {dims:?}"));
    }
    Ok((bands, height, width))
}

/// Big-endian values of `bitpix` in `data`, scaled, `BLANK` as NaN. `Err((pixel, raw))`
/// when a finite value is scaled out of the `f32` range.
fn decode_pixels(
    data: &[u8],
    bitpix: i64,
    scaling: Scaling,
    blank: Option<i64>,
) -> Result<Vec<f32>, (usize, f64)> {
    let int = |raw: i64| (Some(raw) != blank).then_some(raw as f64);
    match bitpix {
        8 => convert(data, 1, scaling, |c| int(c[0] as i64)),
        16 => convert(data, 2, scaling, |c| {
            int(i16::from_be_bytes([c[0], c[1]]) as i64)
        }),
        32 => convert(data, 4, scaling, |c| {
            int(i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as i64)
        }),
        64 => convert(data, 8, scaling, |c| {
            int(i64::from_be_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]))
        }),
        -32 => convert(data, 4, scaling, |c| {
            Some(f32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64)
        }),
        _ => convert(data, 8, scaling, |c| {
            Some(f64::from_be_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]))
        }),
    }
}

/// Applies `read` to each `width`-byte value and `scaling` to the result (`None`: NaN).
fn convert(
    data: &[u8],
    width: usize,
    scaling: Scaling,
    read: impl Fn(&[u8]) -> Option<f64>,
) -> Result<Vec<f32>, (usize, f64)> {
    let identity = scaling.is_identity();
    let mut out = Vec::with_capacity(data.len() / width);
    for (i, chunk) in data.chunks_exact(width).enumerate() {
        let Some(raw) = read(chunk) else {
            out.push(f32::NAN);
            continue;
        };
        if identity {
            out.push(raw as f32);
            continue;
        }
        let v = (scaling.bzero + scaling.bscale * raw) as f32;
        // A stored value too large for f32 without scaling is the pixel's own business (the
        // NaN policy sees it as infinite); a scaling that manufactures one is an error.
        if raw.is_finite() && !v.is_finite() {
            return Err((i, raw));
        }
        out.push(v);
    }
    Ok(out)
}
