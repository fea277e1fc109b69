//! One module per subcommand; each has clap `Args` and a `run` function.

pub mod crop;
pub mod demo;
pub mod evaluate;
pub mod import;
pub mod merge;
pub mod predict;
pub mod simulate;
pub mod splits;
pub mod train;
