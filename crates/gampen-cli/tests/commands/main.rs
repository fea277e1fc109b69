//! The `gampen` command line run as a user runs it, one module per concern, linked into one
//! test binary (each binary links all of Burn; see the root crate's `tests/integration`).
//! `faults.rs` stays a binary of its own: it kills commands after delays timed from earlier
//! runs of the same command, and tests running beside it in one process would skew them.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../../../examples/predict_catalog.rs"]
mod example;

mod bad_inputs;
mod calibration_cli;
mod cli;
mod evaluate_cli;
mod import_cli;
mod init_backbone;
mod predict_library;
