//! The library's integration tests, one module per concern, linked into one test binary.
//!
//! One binary rather than one per file: each links all of Burn (about 150 MB without debug
//! info), and a dozen of them made up a large share of a clean `cargo test --workspace`'s disk
//! and link time.

mod common;

mod batch_norm;
mod calibrate_step;
mod calibration_tools;
mod conv2d;
mod flux_anchor;
mod import;
mod init_backbone;
mod pool_gather;
mod published;
mod train_posterior;
mod train_resume;
