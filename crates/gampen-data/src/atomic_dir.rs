//! An output directory assembled under a temporary name next to its destination and swapped
//! in whole ([`crate::atomic::replace_dir`]), so that a reader never sees it half written and
//! a failed run leaves the previous one as it was.

use std::path::{Path, PathBuf};

use crate::atomic::{replace_dir, tmp_dir_for};
use crate::error::DataError;
use crate::paths::{canonical, require_force};

/// A directory being assembled; [`AtomicDir::commit`] puts it in place. Dropped uncommitted
/// (an error, a panic), the temporary is removed and an existing destination is left as it
/// was.
#[derive(Debug)]
pub struct AtomicDir {
    dest: PathBuf,
    tmp: Option<PathBuf>,
}

impl AtomicDir {
    /// Starts assembling `dest`, creating its parent if needed. An existing `dest` is
    /// replaced on commit: refusing to replace one is the caller's policy.
    pub fn create(dest: &Path) -> Result<Self, DataError> {
        crate::paths::create_parent(dest)?;
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp: Some(tmp_dir_for(dest)?),
        })
    }

    /// Starts assembling `dest` (named `flag` in errors) under the command line's policy: an
    /// existing, non-empty `dest` is replaced only when `force`, and never when it is a file
    /// or the current directory (or one above it).
    pub fn replacing(flag: &str, dest: &Path, force: bool) -> Result<Self, DataError> {
        require_force(flag, dest, force)?;
        if dest.exists() && !dest.is_dir() {
            return Err(DataError::PathConflict(format!(
                "{flag} {} is a file, not a directory",
                dest.display()
            )));
        }
        let canonical_dest = canonical(dest)?;
        // --force replaces the whole directory: never the one the user is standing in (or
        // one above it), where `--out .` would take everything else with it.
        let cwd = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .map_err(|e| DataError::io(Path::new("."), e))?;
        if cwd.starts_with(&canonical_dest) {
            return Err(DataError::PathConflict(format!(
                "{flag} {} is the current directory or one above it, which would be replaced: \
                 choose a new directory for {flag}",
                dest.display()
            )));
        }
        Self::create(&canonical_dest)
    }

    /// Where to write the directory's contents until [`AtomicDir::commit`].
    pub fn path(&self) -> &Path {
        self.tmp.as_deref().unwrap_or(&self.dest)
    }

    /// Replaces the destination with the assembled directory.
    pub fn commit(mut self) -> Result<(), DataError> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        let placed = replace_dir(&tmp, &self.dest);
        if placed.is_err() {
            // The previous directory is back in place; the new one is not kept half-placed.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        placed
    }
}

impl Drop for AtomicDir {
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
    fn replaced_on_commit_and_left_alone_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("nested/out");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join("old.txt"), "old").unwrap();
        {
            let dir = AtomicDir::create(&dest).unwrap();
            std::fs::write(dir.path().join("new.txt"), "new").unwrap();
        }
        assert!(dest.join("old.txt").is_file() && !dest.join("new.txt").exists());
        let dir = AtomicDir::create(&dest).unwrap();
        std::fs::write(dir.path().join("new.txt"), "new").unwrap();
        dir.commit().unwrap();
        assert!(!dest.join("old.txt").exists() && dest.join("new.txt").is_file());
        // Only the destination is left: no temporaries beside it.
        let names: Vec<_> = std::fs::read_dir(root.path().join("nested"))
            .unwrap()
            .collect();
        assert_eq!(names.len(), 1);
    }
}
