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
use std::path::{Component, Path, PathBuf};

use gampen::atomic::{self, AtomicFile};

use crate::error::{CliError, Result};

/// The canonical absolute form of `path`, whether or not it exists: every existing prefix
/// is resolved by the file system (symlinks included), the rest is appended lexically.
pub fn canonical(path: &Path) -> Result<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Ok(p);
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|e| CliError::io(Path::new("."), e))?;
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => {
                out.push(other);
                if let Ok(real) = std::fs::canonicalize(&out) {
                    out = real;
                }
            }
        }
    }
    Ok(out)
}

/// A path given on the command line, with the flag that gave it.
pub type Flagged<'a> = (&'a str, &'a Path);

/// Refuses `outputs` that are, or lie inside, any of `inputs`, inputs that lie inside an
/// output (which a directory output would replace), and two outputs that are one path (a
/// file output inside a directory output, such as crop's grid PNG, is written after it).
pub fn check_io(inputs: &[Flagged], outputs: &[Flagged]) -> Result<()> {
    let canon = |list: &[Flagged]| -> Result<Vec<(String, PathBuf, PathBuf)>> {
        list.iter()
            .map(|&(flag, p)| Ok((flag.to_string(), p.to_path_buf(), canonical(p)?)))
            .collect()
    };
    let ins = canon(inputs)?;
    let outs = canon(outputs)?;
    for (i, (oflag, opath, out)) in outs.iter().enumerate() {
        for (iflag, ipath, input) in &ins {
            let how = if out == input || same_file(out, input) {
                "is the same file as"
            } else if out.starts_with(input) {
                "lies inside"
            } else if input.starts_with(out) {
                "would replace the directory holding"
            } else {
                continue;
            };
            return Err(CliError::usage(format!(
                "{oflag} {} {how} input {iflag} {}: choose another {oflag}",
                opath.display(),
                ipath.display()
            )));
        }
        for (flag, path, other) in &outs[i + 1..] {
            if out == other {
                return Err(CliError::usage(format!(
                    "{oflag} {} and {flag} {} are the same path: give them different paths",
                    opath.display(),
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// True when both paths exist and are one file by identity (a hard link, a bind mount),
/// which no comparison of names can see.
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
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

/// Lets `write` produce `dest` under a hidden temporary name that keeps its extension (so
/// that writers which pick a format by extension, such as the plots, still work), then
/// renames it into place; on failure the temporary is removed.
pub fn write_via_temp(dest: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::error::create_dir(parent)?;
    }
    let stem = dest
        .file_stem()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let ext = dest
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = dest.with_file_name(format!(".{stem}.tmp-{}{ext}", std::process::id()));
    let result = write(&tmp).and_then(|()| {
        let f = std::fs::File::open(&tmp).map_err(|e| CliError::io(&tmp, e))?;
        f.sync_all().map_err(|e| CliError::io(&tmp, e))?;
        std::fs::rename(&tmp, dest).map_err(|e| CliError::io(dest, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_path_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path()).unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("a.csv"), "x").unwrap();
        let input = root.join("a.csv");
        for out in [
            root.join("d/../a.csv"),
            root.join("./a.csv"),
            root.join("d/./../a.csv"),
        ] {
            let err = check_io(&[("input", &input)], &[("--out", &out)]).unwrap_err();
            assert!(err.to_string().contains("--out"), "{err}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("a.csv"), root.join("link.csv")).unwrap();
            assert!(check_io(&[("input", &input)], &[("--out", &root.join("link.csv"))]).is_err());
        }
        let inside = root.join("d/new/x.csv");
        assert!(check_io(&[("--data", &root.join("d"))], &[("--out", &inside)]).is_err());
        assert!(check_io(
            &[("--data", &root.join("d/x"))],
            &[("--out", &root.join("d"))]
        )
        .is_err());
        assert!(check_io(&[("input", &input)], &[("--out", &root.join("b.csv"))]).is_ok());
        // A sibling whose name starts with the input's is not inside it.
        assert!(check_io(
            &[("--data", &root.join("d"))],
            &[("--out", &root.join("d2"))]
        )
        .is_ok());
    }
}
