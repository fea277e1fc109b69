//! The output-path policy every command follows (docs/safety.md):
//!
//! - inputs and outputs are compared as canonical paths (symlinks, `.` and `..` resolved;
//!   an output that does not exist yet is its canonical parent joined with its name), and a
//!   command refuses to start when an output is an input, lies inside an input directory,
//!   or would replace a directory an input lies in;
//! - every output file is written under a hidden temporary name in its own directory and
//!   renamed into place only when complete (`gampen_data::atomic`);
//! - an existing output directory is replaced only with `--force`, and then only once the
//!   new one is complete ([`DirOutput`] over `gampen_data::atomic_dir::AtomicDir`).

use std::path::Path;

use gampen_data::atomic_dir::AtomicDir;

use crate::error::{CliError, Result};

pub use gampen_data::paths::{canonical, Flagged};

/// [`gampen_data::paths::check_io`] as a CLI result.
pub fn check_io(inputs: &[Flagged], outputs: &[Flagged]) -> Result<()> {
    Ok(gampen_data::paths::check_io(inputs, outputs)?)
}

/// [`gampen_data::atomic::write_via_temp`], creating `dest`'s directory first.
pub fn write_via_temp(dest: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::error::create_dir(parent)?;
    }
    gampen_data::atomic::write_via_temp(dest, write)
}

/// True when `dir` exists and is not an empty directory.
pub fn is_occupied(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => dir.exists(),
    }
}

/// Refuses an existing, non-empty `dir` unless `force`.
pub fn require_force(flag: &str, dir: &Path, force: bool) -> Result<()> {
    if force || !is_occupied(dir) {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "{flag} {} exists and is not empty: pass --force to replace it, or choose another {flag}",
        dir.display()
    )))
}

/// An output directory (`gampen_data::atomic_dir::AtomicDir`) under the CLI's policy: an
/// existing one is replaced only with `--force`, never when it is a file or the current
/// directory.
pub struct DirOutput(AtomicDir);

impl DirOutput {
    /// Starts assembling `dest` (refused when it exists and is not empty, unless `force`).
    pub fn create(flag: &str, dest: &Path, force: bool) -> Result<Self> {
        require_force(flag, dest, force)?;
        if dest.exists() && !dest.is_dir() {
            return Err(CliError::usage(format!(
                "{flag} {} is a file, not a directory",
                dest.display()
            )));
        }
        let canonical_dest = canonical(dest)?;
        // --force replaces the whole directory: never the one the user is standing in (or
        // one above it), where `--out .` would take everything else with it.
        let cwd = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .map_err(|e| CliError::io(Path::new("."), e))?;
        if cwd.starts_with(&canonical_dest) {
            return Err(CliError::usage(format!(
                "{flag} {} is the current directory or one above it, which would be replaced: \
                 choose a new directory for {flag}",
                dest.display()
            )));
        }
        Ok(Self(AtomicDir::create(&canonical_dest)?))
    }

    /// Where to write the directory's contents until [`DirOutput::commit`].
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Replaces the destination with the assembled directory.
    pub fn commit(self) -> Result<()> {
        Ok(self.0.commit()?)
    }
}
