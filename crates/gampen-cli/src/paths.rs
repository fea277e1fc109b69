//! The output-path policy every command follows (docs/safety.md):
//!
//! - inputs and outputs are compared as canonical paths (symlinks, `.` and `..` resolved;
//!   an output that does not exist yet is its canonical parent joined with its name), and a
//!   command refuses to start when an output is an input, lies inside an input directory,
//!   or would replace a directory an input lies in;
//! - every output file is written under a hidden temporary name in its own directory and
//!   renamed into place only when complete ([`OutFile`], `gampen::atomic`);
//! - an existing output directory is replaced only with `--force`, and then only once the
//!   new one is complete ([`DirOutput`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use gampen::atomic::{self, AtomicFile};

use crate::error::{CliError, Result};

pub use gampen_data::paths::{canonical, Flagged};

/// [`gampen_data::paths::check_io`] as a CLI result.
pub fn check_io(inputs: &[Flagged], outputs: &[Flagged]) -> Result<()> {
    Ok(gampen_data::paths::check_io(inputs, outputs)?)
}

/// An output file written under a temporary name; [`OutFile::commit`] puts it in place,
/// and dropping it uncommitted (any error) removes the temporary.
pub struct OutFile {
    inner: AtomicFile,
}

impl OutFile {
    /// Starts writing `dest`, creating its directory if needed.
    pub fn create(dest: &Path) -> Result<Self> {
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::error::create_dir(parent)?;
        }
        Ok(Self {
            inner: AtomicFile::create(dest)?,
        })
    }

    /// A CSV writer over a new [`OutFile`] for `dest`.
    pub fn csv(dest: &Path) -> Result<csv::Writer<OutFile>> {
        Ok(csv::Writer::from_writer(Self::create(dest)?))
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(self) -> Result<()> {
        Ok(self.inner.commit()?)
    }

    /// Finishes a CSV writer made by [`OutFile::csv`]: flush, sync, rename.
    pub fn commit_csv(writer: csv::Writer<OutFile>, dest: &Path) -> Result<()> {
        let file = writer
            .into_inner()
            .map_err(|e| CliError::io(dest, std::io::Error::other(e.error().to_string())))?;
        file.commit()
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `bytes` to `dest` completely or not at all.
pub fn write_file(dest: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OutFile::create(dest)?;
    f.write_all(bytes).map_err(|e| CliError::io(dest, e))?;
    f.commit()
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

/// A directory output assembled under a temporary name next to its destination and swapped
/// in by [`DirOutput::commit`]; dropped uncommitted, the temporary is removed and an
/// existing destination is left as it was.
pub struct DirOutput {
    dest: PathBuf,
    tmp: Option<PathBuf>,
}

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
        let shown = dest;
        let dest = canonical(dest)?;
        // --force replaces the whole directory: never the one the user is standing in (or
        // one above it), where `--out .` would take everything else with it.
        let cwd = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .map_err(|e| CliError::io(Path::new("."), e))?;
        if cwd.starts_with(&dest) {
            return Err(CliError::usage(format!(
                "{flag} {} is the current directory or one above it, which would be replaced: \
                 choose a new directory for {flag}",
                shown.display()
            )));
        }
        if let Some(parent) = dest.parent() {
            crate::error::create_dir(parent)?;
        }
        let tmp = atomic::tmp_dir_for(&dest)?;
        Ok(Self {
            dest,
            tmp: Some(tmp),
        })
    }

    /// Where to write the directory's contents until [`DirOutput::commit`].
    pub fn path(&self) -> &Path {
        self.tmp.as_deref().unwrap_or(&self.dest)
    }

    /// Replaces the destination with the assembled directory.
    pub fn commit(mut self) -> Result<()> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        let placed = atomic::replace_dir(&tmp, &self.dest);
        if placed.is_err() {
            // The previous directory is back in place; the new one is not kept half-placed.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Ok(placed?)
    }
}

impl Drop for DirOutput {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_dir_all(tmp);
        }
    }
}
