//! FITS tests against the astropy-written fixtures of `tools/fixtures_fits.py`.

use std::path::{Path, PathBuf};

use super::*;
use crate::{Image, NanPolicy};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fits")
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(dir().join("expected.json")).expect("fixtures committed");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn reads_every_fixture_like_astropy() {
    let exp = expected();
    let files = exp.as_object().expect("object");
    assert!(files.len() >= 10);
    for (name, e) in files {
        let (img, _) = read_fits_hdu(dir().join(name), HduSelect::FirstImage)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(vec![img.bands, img.height, img.width], shape, "{name}");
        for (i, (got, want)) in img
            .data
            .iter()
            .zip(e["values"].as_array().unwrap())
            .enumerate()
        {
            match want.as_f64() {
                None => assert!(!got.is_finite(), "{name}[{i}]: got {got}, expected NaN"),
                Some(w) if w.is_finite() => {
                    let tol = 1e-6 * w.abs().max(1e-3);
                    assert!(
                        ((*got as f64) - w).abs() <= tol,
                        "{name}[{i}]: got {got}, expected {w}"
                    );
                }
                Some(_) => unreachable!(),
            }
        }
    }
}

#[test]
fn explicit_hdu_index_and_non_image_errors() {
    let (img, header) = read_fits_hdu(dir().join("extension.fits"), HduSelect::Index(2)).unwrap();
    assert_eq!((img.height, img.width), (3, 3));
    assert_eq!(
        header.get("EXTNAME"),
        Some(&HeaderValue::Text("MASK".into()))
    );
    let err = read_fits_hdu(dir().join("extension.fits"), HduSelect::Index(7)).unwrap_err();
    assert!(err.to_string().contains("extension.fits"), "{err}");
    let err = read_fits_hdu(dir().join("extension.fits"), HduSelect::Index(0)).unwrap_err();
    assert!(err.to_string().contains("NAXIS = 0"), "{err}");
}

#[test]
fn nan_fixture_policy() {
    let path = dir().join("nan.fits");
    let mut img = read_fits(&path).unwrap();
    let err = img
        .clone()
        .apply_nan_policy(NanPolicy::Error, &path)
        .unwrap_err();
    assert!(err.to_string().contains("nan.fits") && err.to_string().contains("3 non-finite"));
    assert_eq!(
        img.apply_nan_policy(NanPolicy::Replace(-1.0), &path)
            .unwrap(),
        3
    );
    assert_eq!(img.get(0, 0, 1), -1.0);
}

#[test]
fn truncated_or_corrupt_files_are_errors_naming_the_file() {
    // (file, byte where the first image's data ends)
    for (name, end) in [
        ("bitpix-32.fits", 2880 + 192),
        ("extension.fits", 5760 + 192),
        ("cube.fits", 2880 + 576),
        ("bitpix16_scaled.fits", 2880 + 96),
    ] {
        let bytes = std::fs::read(dir().join(name)).unwrap();
        for cut in [
            0,
            1,
            79,
            80,
            2000,
            2879,
            2880,
            2881,
            3000,
            end - 90,
            end - 1,
        ] {
            if cut >= end {
                continue;
            }
            let path = Path::new("cut.fits");
            match decode_fits(&bytes[..cut], path, HduSelect::FirstImage) {
                Err(e) => assert!(e.to_string().contains("cut.fits"), "{e}"),
                Ok(_) => panic!("{name} cut at {cut} decoded"),
            }
        }
        assert!(decode_fits(&bytes[..end], Path::new("x"), HduSelect::FirstImage).is_ok());
        let mut garbage = bytes.clone();
        garbage[..6].copy_from_slice(b"SIMPLX");
        assert!(decode_fits(&garbage, Path::new("g.fits"), HduSelect::FirstImage).is_err());
        let mut bad_bitpix = bytes.clone();
        let pos = find(&bad_bitpix, b"BITPIX  =");
        bad_bitpix[pos + 10..pos + 30].copy_from_slice(format!("{:>20}", 12).as_bytes());
        let err = decode_fits(&bad_bitpix, Path::new("b.fits"), HduSelect::FirstImage).unwrap_err();
        assert!(err.to_string().contains("BITPIX"), "{err}");
    }
    let err = read_fits(dir().join("missing.fits")).unwrap_err();
    assert!(err.to_string().contains("missing.fits"));
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn write_read_round_trip() {
    let img = Image::new(
        (0..3 * 5 * 7)
            .map(|v| (v as f32 * 0.37).sin() * 1e4)
            .collect(),
        3,
        5,
        7,
    );
    let cards = [
        HeaderCard::real("PIXSCALE", 0.168, "arcsec/pixel"),
        HeaderCard::text("OBJECT", "sim_000001", ""),
    ];
    let bytes = encode_fits(&img, &cards).unwrap();
    assert_eq!(bytes.len() % 2880, 0);
    let (back, header) = decode_fits(&bytes, Path::new("mem.fits"), HduSelect::FirstImage).unwrap();
    assert_eq!(back, img);
    assert_eq!(header.get("PIXSCALE"), Some(&HeaderValue::Real(0.168)));
    let single = Image::new(vec![1.5, f32::NAN, -2.0, 0.0], 1, 2, 2);
    let bytes = encode_fits(&single, &[]).unwrap();
    let (back, _) = decode_fits(&bytes, Path::new("m"), HduSelect::FirstImage).unwrap();
    assert_eq!(back.bands, 1);
    assert!(back.data[1].is_nan() && back.data[2] == -2.0);
    assert!(encode_fits(&single, &[HeaderCard::real("NAXIS", 1.0, "")]).is_err());
    assert!(encode_fits(&single, &[HeaderCard::real("TOOLONGKEY", 1.0, "")]).is_err());
    // A file for a manual astropy check: python3 tools/fixtures_fits.py --check <path>
    if let Ok(path) = std::env::var("GAMPEN_WRITE_FITS_CHECK") {
        write_fits(path, &img, &cards).unwrap();
    }
}

/// A FITS file from header cards (`KEY = value` text, padded to 80) and raw data bytes.
fn fits_from(cards: &[&str], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for card in cards.iter().chain(&["END"]) {
        out.extend_from_slice(format!("{card:<80}").as_bytes());
    }
    out.resize(out.len().div_ceil(2880) * 2880, b' ');
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

/// A 2x2 `BITPIX = 16` primary image with `extra` cards after the mandatory ones.
fn image16(extra: &[&str]) -> Vec<u8> {
    let mut cards = vec![
        "SIMPLE  =                    T",
        "BITPIX  =                   16",
        "NAXIS   =                    2",
        "NAXIS1  =                    2",
        "NAXIS2  =                    2",
    ];
    cards.extend_from_slice(extra);
    fits_from(&cards, &[0, 1, 0, 2, 0, 3, 0, 4])
}

/// Decodes `bytes` as `bad.fits` and returns the error message, which must name the file
/// and fit on one line.
fn error_of(bytes: &[u8]) -> String {
    let err = decode_fits(bytes, Path::new("bad.fits"), HduSelect::FirstImage)
        .expect_err("a bad file must not decode")
        .to_string();
    assert!(err.starts_with("bad.fits: "), "{err}");
    assert!(!err.contains('\n'), "{err}");
    err
}

/// `card` replaced in the mandatory cards of [`image16`] (matched by keyword).
fn image16_with(card: &str) -> Vec<u8> {
    let key = &card[..8];
    let mut bytes = image16(&[]);
    let pos = find(&bytes, key.as_bytes());
    bytes[pos..pos + 80].copy_from_slice(format!("{card:<80}").as_bytes());
    bytes
}

#[test]
fn helper_image_decodes() {
    let (img, _) = decode_fits(&image16(&[]), Path::new("ok.fits"), HduSelect::FirstImage)
        .expect("valid file");
    assert_eq!(img.data, vec![1.0, 2.0, 3.0, 4.0]);
    let (img, _) = decode_fits(
        &image16(&[
            "BSCALE  =                  2.0",
            "BZERO   =                 -1.0",
        ]),
        Path::new("ok.fits"),
        HduSelect::FirstImage,
    )
    .expect("valid file");
    assert_eq!(img.data, vec![1.0, 3.0, 5.0, 7.0]);
}

#[test]
fn huge_axes_are_errors_not_panics_or_allocations() {
    // i64::MAX x 2 bytes fits in usize; adding the header offset does not.
    let err = error_of(&image16_with("NAXIS1  =  9223372036854775807"));
    assert!(
        err.contains("truncated") || err.contains("overflows"),
        "{err}"
    );
    // The product of the axes overflows.
    let err = error_of(&image16_with("NAXIS2  =  9223372036854775807"));
    assert!(err.contains("overflows"), "{err}");
    // A size that fits in memory arithmetic but not in the file: no allocation is tried.
    let err = error_of(&image16_with("NAXIS2  =           1000000000"));
    assert!(err.contains("truncated") && err.contains("2880"), "{err}");
    // Beyond i64: parsed as a real, so not an integer.
    let err = error_of(&image16_with("NAXIS1  = 99999999999999999999999"));
    assert!(err.contains("NAXIS1 is not an integer"), "{err}");
}

#[test]
fn pcount_and_gcount_are_checked() {
    let err = error_of(&image16(&["PCOUNT  =  9223372036854775807"]));
    assert!(err.contains("overflows"), "{err}");
    let err = error_of(&image16(&["GCOUNT  =                   -1"]));
    assert!(err.contains("negative GCOUNT"), "{err}");
    let err = error_of(&image16(&["PCOUNT  =                  1.5"]));
    assert!(err.contains("PCOUNT is not an integer"), "{err}");
    // GCOUNT = 0 announces no data: the pixel count must still not overflow.
    let mut bytes = image16_with("NAXIS1  =           4294967296");
    let pos = find(&bytes, b"NAXIS2  =");
    bytes[pos..pos + 80].copy_from_slice(format!("{:<80}", "NAXIS2  =  4294967296").as_bytes());
    let pos = find(&bytes, b"END     ");
    bytes[pos..pos + 160].copy_from_slice(format!("{:<80}{:<80}", "GCOUNT  = 0", "END").as_bytes());
    let err = error_of(&bytes);
    assert!(err.contains("overflows"), "{err}");
    let err = error_of(&image16(&["GCOUNT  =                    0"]));
    assert!(err.contains("data bytes for 4 pixels"), "{err}");
}

#[test]
fn naxis_out_of_range_and_negative_sizes() {
    for (card, want) in [
        ("NAXIS   =                 1000", "invalid NAXIS 1000"),
        ("NAXIS   =                   -1", "negative NAXIS"),
        ("NAXIS   =  9223372036854775807", "invalid NAXIS"),
        ("NAXIS2  =                   -2", "negative NAXIS2 = -2"),
        ("NAXIS   =                    4", "missing NAXIS3"),
        ("BITPIX  =                  -16", "invalid BITPIX -16"),
        ("BITPIX  =                 16.0", "non-integer BITPIX"),
        ("NAXIS1  =                    0", "empty image"),
    ] {
        let err = error_of(&image16_with(card));
        assert!(err.contains(want), "{card}: {err}");
    }
}

#[test]
fn degenerate_scaling_is_an_error() {
    for (cards, want) in [
        (&["BSCALE  =                  0.0"][..], "BSCALE = 0"),
        (&["BSCALE  =                    0"][..], "BSCALE = 0"),
        (&["BSCALE  =                  NAN"][..], "BSCALE"),
        (&["BSCALE  =                 1E99999"][..], "BSCALE"),
        (&["BZERO   =                 -inf"][..], "BZERO"),
        (&["BSCALE  =             'three'"][..], "BSCALE"),
        (
            &["BSCALE  =               1E300"][..],
            "beyond the range of f32",
        ),
        (
            &[
                "BSCALE  =                  1.0",
                "BSCALE  =                  2.0",
            ][..],
            "BSCALE appears twice",
        ),
    ] {
        let err = error_of(&image16(cards));
        assert!(
            err.contains(want) && (err.contains("degenerate") || err.contains("twice")),
            "{cards:?}: {err}"
        );
    }
    // Float data: a stored infinity is the NaN policy's business, a scaled one an error.
    let single = Image::new(vec![f32::INFINITY, 1e30], 1, 1, 2);
    let bytes = encode_fits(&single, &[]).unwrap();
    let (img, _) = decode_fits(&bytes, Path::new("m"), HduSelect::FirstImage).unwrap();
    assert!(img.data[0].is_infinite() && img.data[1] == 1e30);
    let pos = find(&bytes, b"END     ");
    let mut scaled = bytes.clone();
    scaled[pos..pos + 160]
        .copy_from_slice(format!("{:<80}{:<80}", "BSCALE  = 1E10", "END").as_bytes());
    assert!(
        error_of(&scaled).contains("pixel 1"),
        "{}",
        error_of(&scaled)
    );
}

#[test]
fn repeated_sizing_keywords_must_agree() {
    let err = error_of(&image16(&["NAXIS   =                    3"]));
    assert!(err.contains("NAXIS appears twice"), "{err}");
    // The same value twice is harmless.
    assert!(decode_fits(
        &image16(&["BITPIX  =                   16"]),
        Path::new("x"),
        HduSelect::FirstImage
    )
    .is_ok());
    let err = error_of(&image16(&["BLANK   =                  1.5"]));
    assert!(err.contains("BLANK is not an integer"), "{err}");
}

#[test]
fn headers_without_end_or_with_garbage() {
    let mut bytes = image16(&[]);
    let pos = find(&bytes, b"END     ");
    bytes[pos..pos + 3].copy_from_slice(b"XND");
    let err = error_of(&bytes[..2880]);
    assert!(err.contains("no END card"), "{err}");
    // With data after it, the data is read as header cards and rejected.
    let err = error_of(&bytes);
    assert!(err.contains("header card 37"), "{err}");
    let mut bytes = image16(&[]);
    bytes[85] = 0xFF;
    let err = error_of(&bytes);
    assert!(err.contains("not ASCII") && err.contains("card 2"), "{err}");
    let mut bytes = image16(&[]);
    bytes[82] = b'\n';
    let err = error_of(&bytes);
    assert!(err.contains("control byte 0x0A"), "{err}");
    let err = error_of(&image16(&["OBJECT  = 'unterminated"]));
    assert!(
        err.contains("unterminated string in card \"OBJECT\""),
        "{err}"
    );
    assert!(header_parse_rejects_short_cards());
    let err = error_of(&[b' '; 2880 * 2]);
    assert!(err.contains("does not start with a header card"), "{err}");
}

fn header_parse_rejects_short_cards() -> bool {
    super::header::parse_card(b"SIMPLE =").is_err()
}

#[test]
fn truncated_skipped_hdu_is_named() {
    let bytes = std::fs::read(dir().join("extension.fits")).unwrap();
    // HDU 1 (the science image) starts after the primary header; cut inside its data.
    let cut = &bytes[..5760 + 100];
    let err = decode_fits(cut, Path::new("cut.fits"), HduSelect::Index(2))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cut.fits") && err.contains("HDU 1") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn non_regular_files_are_refused() {
    let err = read_fits(dir()).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}
