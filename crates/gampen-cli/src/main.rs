//! `gampen`: Bayesian posteriors of galaxy structural parameters from the command line.
//!
//! Every subcommand has `--help`. Errors print one `error: ...` line on stderr and exit
//! with status 1 (2 for command-line syntax errors).
#![warn(missing_docs)]

mod commands;
mod error;
mod plot;
mod progress;

use clap::{Parser, Subcommand};

/// GaMPEN in pure Rust: simulate galaxies, train the spatial-transformer + VGG network with a
/// full-covariance Gaussian likelihood, and predict calibrated Monte-Carlo-dropout posteriors
/// of bulge-to-total ratio, effective radius and flux (or any catalog columns).
#[derive(Parser, Debug)]
#[command(name = "gampen", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest flag set costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate bulge+disk galaxies into a data directory (cutouts/*.fits, info.csv, splits/).
    Simulate(commands::simulate::Args),
    /// Write train/devel/test split files for a data directory.
    Splits(commands::splits::Args),
    /// Train a model on a split of a data directory.
    Train(commands::train::Args),
    /// Predict posteriors for the galaxies of a catalog, streaming, into a CSV file.
    Predict(commands::predict::Args),
    /// Concatenate prediction CSV files (e.g. shards) into one.
    Merge(commands::merge::Args),
    /// Write the spatial transformer's crops of cutouts as FITS (and a PNG grid).
    Crop(commands::crop::Args),
    /// Compare predictions with catalog truth: errors, coverage, plots.
    Evaluate(gampen::evaluate::EvaluateFlags),
    /// Simulate, train, predict and evaluate a small model in a few minutes on a CPU.
    Demo(commands::demo::Args),
    /// Import a published GaMPEN PyTorch model (state dict) as a checkpoint.
    Import(gampen::import::ImportFlags),
}

fn main() {
    // Tensor outputs are reallocated every op; reusing freed memory halves a training step.
    gampen::allocator::retain_freed_memory();
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let msg = msg.lines().map(str::trim).collect::<Vec<_>>().join("; ");
        let at = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {msg}{at}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's message up to its usage block, on one line like every other error.
            let text = e.to_string();
            let msg = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
            eprintln!("error: {msg} (see --help)");
            std::process::exit(2);
        }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Splits(a) => commands::splits::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Predict(a) => commands::predict::run(a),
        Command::Merge(a) => commands::merge::run(a),
        Command::Crop(a) => commands::crop::run(a),
        Command::Evaluate(a) => commands::evaluate::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Import(a) => commands::import::run(a),
    }));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {}", e.one_line());
            std::process::exit(1);
        }
        // The panic hook has printed the message.
        Err(_) => std::process::exit(101),
    }
}
