//! Any bytes through the FITS reader, with every way of selecting an HDU: the reader must
//! return an image or an error whose message is one line naming the file, never panic.
//! Run with `-malloc_limit_mb` to bound single allocations (docs/data.md).
#![no_main]

use std::path::Path;

use gampen_data::fits::{decode_fits, HduSelect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.fits");
    for select in [
        HduSelect::FirstImage,
        HduSelect::Index(0),
        HduSelect::Index(1),
        HduSelect::Index(2),
    ] {
        match decode_fits(data, path, select) {
            Ok((image, _)) => {
                assert_eq!(image.data.len(), image.bands * image.height * image.width)
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with("fuzz.fits: ") && !msg.contains('\n'),
                    "{msg}"
                );
            }
        }
    }
});
