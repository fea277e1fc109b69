//! Reading images from FITS files: primary HDUs and `IMAGE` extensions, every integer and
//! floating-point `BITPIX`, `BSCALE`/`BZERO`/`BLANK`, 2-D images and 3-D cubes.
//!
//! The whole file is read into memory (cutouts are small) and checked against its header:
//! a truncated or corrupt file is an error naming the file, never a zero-filled image.

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
pub fn read_fits_hdu(
    path: impl AsRef<Path>,
    select: HduSelect,
) -> Result<(Image, Header), DataError> {
    let path = path.as_ref();
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
        let data_end = data_start + hdu.data_len;
        let wanted = match select {
            HduSelect::FirstImage => hdu.is_image && hdu.dims.len() >= 2,
            HduSelect::Index(i) => i == index,
        };
        if wanted {
            if !hdu.is_image {
                return Err(DataError::fits(
                    path,
                    format!("HDU {index} is not an image ({})", hdu.kind),
                ));
            }
            if data_end > bytes.len() {
                return Err(truncated(path, index, data_end, bytes.len()));
            }
            let image = decode_image(&bytes[data_start..data_end], &hdu, &header, index, path)?;
            return Ok((image, header));
        }
        if hdu.compressed && select == HduSelect::FirstImage {
            return Err(DataError::fits(
                path,
                format!("HDU {index} is a tile-compressed image (ZIMAGE); uncompress it first (e.g. funpack)"),
            ));
        }
        offset = data_start + hdu.data_len.div_ceil(BLOCK) * BLOCK;
        index += 1;
    }
}

fn truncated(path: &Path, index: usize, need: usize, have: usize) -> DataError {
    DataError::fits(
        path,
        format!("truncated: data of HDU {index} ends at byte {need} but the file has {have} bytes"),
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
        if pos + BLOCK > bytes.len() {
            return Err(DataError::fits(
                path,
                format!(
                    "truncated or corrupt header of HDU {index}: no END card before byte {} (file has {} bytes)",
                    pos + BLOCK,
                    bytes.len()
                ),
            ));
        }
        for card in bytes[pos..pos + BLOCK].chunks_exact(CARD) {
            if card.starts_with(b"END") && card[3..].iter().all(|&c| c == b' ') {
                return Ok((header, pos + BLOCK));
            }
            let parsed =
                parse_card(card).map_err(|r| DataError::fits(path, format!("HDU {index}: {r}")))?;
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

impl HduInfo {
    fn from_header(h: &Header, index: usize, path: &Path) -> Result<Self, DataError> {
        let bad = |reason: String| DataError::fits(path, format!("HDU {index}: {reason}"));
        let first = h.cards.first().map(|(k, _)| k.as_str()).unwrap_or("");
        let kind = if index == 0 {
            if first != "SIMPLE" || h.get("SIMPLE") != Some(&HeaderValue::Logical(true)) {
                return Err(bad("not a FITS file (first card is not SIMPLE = T)".into()));
            }
            "PRIMARY".to_string()
        } else {
            match h.get("XTENSION") {
                Some(HeaderValue::Text(t)) if first == "XTENSION" => t.clone(),
                _ => return Err(bad("extension header does not start with XTENSION".into())),
            }
        };
        let int = |key: &str| -> Result<i64, DataError> {
            h.get(key)
                .and_then(HeaderValue::as_i64)
                .ok_or_else(|| bad(format!("missing or non-integer {key}")))
        };
        let bitpix = int("BITPIX")?;
        if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
            return Err(bad(format!("invalid BITPIX {bitpix}")));
        }
        let naxis = int("NAXIS")?;
        if !(0..=999).contains(&naxis) {
            return Err(bad(format!("invalid NAXIS {naxis}")));
        }
        let mut dims = Vec::with_capacity(naxis as usize);
        for i in 1..=naxis {
            let n = int(&format!("NAXIS{i}"))?;
            if n < 0 {
                return Err(bad(format!("negative NAXIS{i} = {n}")));
            }
            dims.push(n as usize);
        }
        let pcount = h.get("PCOUNT").and_then(HeaderValue::as_i64).unwrap_or(0);
        let gcount = h.get("GCOUNT").and_then(HeaderValue::as_i64).unwrap_or(1);
        if pcount < 0 || gcount < 0 {
            return Err(bad("negative PCOUNT or GCOUNT".into()));
        }
        let elements = if dims.is_empty() {
            0
        } else {
            dims.iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| bad("image size overflows".into()))?
        };
        let data_len = (elements + pcount as usize)
            .checked_mul(gcount as usize)
            .and_then(|n| n.checked_mul(bitpix.unsigned_abs() as usize / 8))
            .ok_or_else(|| bad("data size overflows".into()))?;
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

fn decode_image(
    data: &[u8],
    hdu: &HduInfo,
    header: &Header,
    index: usize,
    path: &Path,
) -> Result<Image, DataError> {
    let bad = |reason: String| DataError::fits(path, format!("HDU {index}: {reason}"));
    if hdu.dims.len() < 2 {
        return Err(bad(format!(
            "NAXIS = {} but an image needs 2 (or 3 for a cube)",
            hdu.dims.len()
        )));
    }
    if hdu.dims.iter().skip(3).any(|&d| d != 1) {
        return Err(bad(format!(
            "{}-D data with axes {:?}: only 2-D images and 3-D cubes are read",
            hdu.dims.len(),
            hdu.dims
        )));
    }
    let (width, height) = (hdu.dims[0], hdu.dims[1]);
    let bands = hdu.dims.get(2).copied().unwrap_or(1);
    if width == 0 || height == 0 || bands == 0 {
        return Err(bad(format!("empty image with axes {:?}", hdu.dims)));
    }
    let real = |key: &str, default: f64| -> Result<f64, DataError> {
        match header.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("{key} is not a finite number"))),
        }
    };
    let bscale = real("BSCALE", 1.0)?;
    let bzero = real("BZERO", 0.0)?;
    let blank = header.get("BLANK").and_then(HeaderValue::as_i64);
    let n = width * height * bands;
    let size = hdu.bitpix.unsigned_abs() as usize / 8;
    if data.len() < n * size {
        return Err(bad(format!(
            "GCOUNT/PCOUNT leave {} data bytes for {n} pixels",
            data.len()
        )));
    }
    let data = &data[..n * size];
    let scale = |v: f64| (bzero + bscale * v) as f32;
    let int = |raw: i64| {
        if Some(raw) == blank {
            f32::NAN
        } else {
            scale(raw as f64)
        }
    };
    let pixels: Vec<f32> = match hdu.bitpix {
        8 => data.iter().map(|&b| int(b as i64)).collect(),
        16 => data
            .chunks_exact(2)
            .map(|c| int(i16::from_be_bytes([c[0], c[1]]) as i64))
            .collect(),
        32 => data
            .chunks_exact(4)
            .map(|c| int(i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as i64))
            .collect(),
        64 => data
            .chunks_exact(8)
            .map(|c| int(i64::from_be_bytes(c.try_into().expect("chunk of 8"))))
            .collect(),
        -32 => {
            let raw = data
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            if bscale == 1.0 && bzero == 0.0 {
                raw.collect()
            } else {
                raw.map(|v| scale(v as f64)).collect()
            }
        }
        -64 => data
            .chunks_exact(8)
            .map(|c| scale(f64::from_be_bytes(c.try_into().expect("chunk of 8"))))
            .collect(),
        _ => unreachable!("BITPIX validated"),
    };
    Ok(Image::new(pixels, bands, height, width))
}
