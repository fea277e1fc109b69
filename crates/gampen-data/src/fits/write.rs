//! Writing `f32` images as FITS (`BITPIX = -32`, big-endian, 2880-byte blocks).

use std::io::Write;
use std::path::Path;

use super::header::{HeaderCard, HeaderValue, BLOCK};
use crate::{DataError, Image};

/// Encodes `image` as a single-HDU FITS file with `BITPIX = -32`.
///
/// A one-band image is written as a 2-D primary HDU, more bands as a cube with
/// `NAXIS3 = bands`. `extra` cards follow the mandatory ones; a card that cannot be
/// formatted (keyword over 8 characters, non-ASCII text, non-finite number) is an error.
///
/// # Shapes
/// `image` is `[bands, height, width]`; `NAXIS1 = width`, `NAXIS2 = height`.
pub fn encode_fits(image: &Image, extra: &[HeaderCard]) -> Result<Vec<u8>, DataError> {
    let mut cards = vec![
        HeaderCard {
            keyword: "SIMPLE".into(),
            value: HeaderValue::Logical(true),
            comment: "conforms to FITS standard".into(),
        },
        HeaderCard::integer("BITPIX", -32, "IEEE single precision"),
        HeaderCard::integer("NAXIS", if image.bands > 1 { 3 } else { 2 }, ""),
        HeaderCard::integer("NAXIS1", image.width as i64, "width"),
        HeaderCard::integer("NAXIS2", image.height as i64, "height"),
    ];
    if image.bands > 1 {
        cards.push(HeaderCard::integer("NAXIS3", image.bands as i64, "bands"));
    }
    let reserved = [
        "SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "END", "BSCALE", "BZERO",
        "EXTEND",
    ];
    for card in extra {
        if reserved.contains(&card.keyword.to_ascii_uppercase().as_str()) {
            return Err(DataError::Config(format!(
                "FITS card {} is written by the writer itself",
                card.keyword
            )));
        }
    }
    cards.extend(extra.iter().cloned());
    let mut out = Vec::with_capacity(BLOCK * 2 + image.data.len() * 4);
    for card in &cards {
        let text = card.format().ok_or_else(|| {
            DataError::Config(format!("FITS card {:?} cannot be formatted", card))
        })?;
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(format!("{:<80}", "END").as_bytes());
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, b' ');
    for v in &image.data {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    Ok(out)
}

/// Writes `image` to `path` as FITS (see [`encode_fits`]), replacing any existing file.
pub fn write_fits(
    path: impl AsRef<Path>,
    image: &Image,
    extra: &[HeaderCard],
) -> Result<(), DataError> {
    let path = path.as_ref();
    let bytes = encode_fits(image, extra)?;
    let mut file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    file.write_all(&bytes).map_err(|e| DataError::io(path, e))
}
