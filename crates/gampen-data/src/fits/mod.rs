//! FITS input and output for cutouts.

mod header;
mod read;
mod write;

pub use header::{HeaderCard, HeaderValue};
pub use read::{decode_fits, read_fits, read_fits_hdu, HduSelect, Header};
pub use write::{encode_fits, write_fits};

#[cfg(test)]
mod tests;
