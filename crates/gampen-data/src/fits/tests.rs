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
