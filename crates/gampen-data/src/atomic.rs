//! Writing files and directories so that they appear under their final name only when
//! complete.
//!
//! A file is written as `.<name>.tmp-<pid>` in its destination's directory, flushed and
//! synced, then renamed over the destination; a directory is assembled as `.<name>.tmp-<pid>`
//! and swapped in. A process killed part-way leaves only such a hidden temporary, never a
//! truncated file under the final name; the next write to the same destination removes
//! temporaries whose process is gone.
//!
//! This is the one writer behind every output of the workspace (checkpoints, catalogs,
//! splits, predictions, plots); `gampen::atomic` re-exports it.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::DataError;

/// The hidden temporary sibling of `path` that this process writes before renaming.
pub fn tmp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Whether this machine can tell if another process still runs (Linux's `/proc`). Cleanups
/// of other processes' temporaries do nothing where it cannot, so that a concurrent
/// writer's temporary is never taken from under it.
pub fn liveness_known() -> bool {
    Path::new("/proc/self").exists()
}

/// Whether process `pid` is this one or still runs (meaningful only where
/// [`liveness_known`]).
pub fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes temporaries of `path` (files or directories `.<name>.tmp-<pid>`) left by
/// processes that no longer run. Where liveness cannot be told (no `/proc`), nothing is
/// removed, so that a concurrent writer's temporary is never taken from under it.
pub fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    if !liveness_known() {
        return;
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        // [`write_via_temp`]'s temporaries repeat the extension after the pid.
        let pid = match path.extension() {
            Some(ext) => pid
                .strip_suffix(&format!(".{}", ext.to_string_lossy()))
                .unwrap_or(pid),
            None => pid,
        };
        let alive = pid.parse::<u32>().is_ok_and(process_alive);
        if !alive && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
            let p = entry.path();
            // Best effort: a temporary that cannot be removed is only clutter.
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

/// A file being written under a temporary name; [`AtomicFile::commit`] renames it into
/// place. Dropped without a commit (an error, a panic), the temporary is removed and the
/// destination is left as it was.
#[derive(Debug)]
pub struct AtomicFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `dest` (its directory must exist).
    pub fn create(dest: &Path) -> Result<Self, DataError> {
        remove_stale_temporaries(dest);
        let tmp = tmp_sibling(dest);
        let file = File::create(&tmp).map_err(|e| DataError::io(&tmp, e))?;
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp,
            file: Some(BufWriter::new(file)),
        })
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes, syncs and renames the temporary over the destination.
    pub fn commit(mut self) -> Result<(), DataError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| DataError::io(&self.dest, io::Error::other("file already committed")))?;
        let placed = file
            .into_inner()
            .map_err(|e| DataError::io(&self.tmp, e.into_error()))
            .and_then(|f| f.sync_all().map_err(|e| DataError::io(&self.tmp, e)))
            .and_then(|()| {
                fs::rename(&self.tmp, &self.dest).map_err(|e| DataError::io(&self.dest, e))
            });
        if placed.is_err() {
            // Not placed (a full disk, a directory under the final name): leave nothing.
            let _ = fs::remove_file(&self.tmp);
        }
        placed?;
        // The rename itself survives a power cut only once the directory is synced; not
        // every platform can open a directory, so this is best effort.
        if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, synced, then
/// renamed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(|e| DataError::io(tmp_sibling(path), e))?;
    file.commit()
}

/// Moves the complete directory `tmp` to `dir`, replacing an existing `dir`: the old one is
/// moved aside first (a directory cannot be renamed over a non-empty one) and removed only
/// once the new one is in place.
pub fn replace_dir(tmp: &Path, dir: &Path) -> Result<(), DataError> {
    let old = dir.with_file_name(format!(
        ".{}.old-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let had_old = dir.exists();
    if had_old {
        fs::rename(dir, &old).map_err(|e| DataError::io(dir, e))?;
    }
    if let Err(e) = fs::rename(tmp, dir) {
        if had_old {
            // Put the previous directory back so that a failed swap loses nothing.
            let _ = fs::rename(&old, dir);
        }
        return Err(DataError::io(dir, e));
    }
    if had_old {
        fs::remove_dir_all(&old).map_err(|e| DataError::io(&old, e))?;
    }
    Ok(())
}

/// Lets `write` produce `dest` under a hidden temporary name that keeps its extension
/// (`.<name>.tmp-<pid>.<ext>`, so that writers which pick a format by extension, such as the
/// plots, still work), then syncs and renames it into place; on failure the temporary is
/// removed and `dest` is left as it was. `dest`'s directory is created first.
pub fn write_via_temp<E: From<DataError>>(
    dest: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    crate::paths::create_parent(dest)?;
    remove_stale_temporaries(dest);
    let ext = dest
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = PathBuf::from(format!("{}{ext}", tmp_sibling(dest).display()));
    let result = write(&tmp).and_then(|()| {
        let placed = File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| DataError::io(&tmp, e))
            .and_then(|()| fs::rename(&tmp, dest).map_err(|e| DataError::io(dest, e)));
        Ok(placed?)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `value` as pretty JSON with a final newline to `path` (complete or not at all),
/// creating its directory; errors name the file.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), DataError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| DataError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    crate::paths::create_parent(path)?;
    write_atomic(path, (text + "\n").as_bytes())
}

/// Reads a JSON file into `T`, naming the file on failure.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DataError> {
    let text = fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| DataError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// A CSV writer whose output appears at `dest` only on [`commit_csv`].
pub fn csv_writer(dest: &Path) -> Result<csv::Writer<AtomicFile>, DataError> {
    Ok(csv::Writer::from_writer(AtomicFile::create(dest)?))
}

/// Flushes a [`csv_writer`] and renames its file into place.
pub fn commit_csv(writer: csv::Writer<AtomicFile>) -> Result<(), DataError> {
    let dest = writer.get_ref().dest().to_path_buf();
    let file = writer
        .into_inner()
        .map_err(|e| DataError::io(&dest, io::Error::other(e.error().to_string())))?;
    file.commit()
}

/// Creates a fresh temporary directory for assembling `dir` (removing this process's own
/// leftover and stale ones of dead processes first).
pub fn tmp_dir_for(dir: &Path) -> Result<PathBuf, DataError> {
    remove_stale_temporaries(dir);
    let tmp = tmp_sibling(dir);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_file_leaves_the_destination_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.csv");
        fs::write(&dest, "old\n").unwrap();
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_to_string(&dest).unwrap(), "old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&dest, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new\n");
    }

    #[test]
    fn a_commit_that_cannot_rename_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("taken");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("inside"), "keep").unwrap();
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"data").unwrap();
        assert!(f.commit().is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(fs::read_to_string(dest.join("inside")).unwrap(), "keep");
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.csv");
        // u32::MAX is beyond any pid_max, so no process has it.
        let stale = dir.path().join(format!(".a.csv.tmp-{}", u32::MAX));
        let other = dir.path().join(".b.csv.tmp-4294967295");
        fs::write(&stale, "x").unwrap();
        fs::write(&other, "x").unwrap();
        write_atomic(&dest, b"new\n").unwrap();
        assert!(!stale.exists() || !Path::new("/proc/self").exists());
        assert!(other.exists());
    }

    #[test]
    fn temporaries_that_keep_their_extension_are_placed_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("plot.png");
        let stale = dir.path().join(format!(".plot.png.tmp-{}.png", u32::MAX));
        fs::write(&stale, "x").unwrap();
        write_via_temp::<DataError>(&dest, |tmp| {
            assert_eq!(tmp.extension().unwrap(), "png");
            fs::write(tmp, "png").map_err(|e| DataError::io(tmp, e))
        })
        .unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "png");
        assert!(!stale.exists() || !Path::new("/proc/self").exists());
        let failed = write_via_temp::<DataError>(&dir.path().join("b.png"), |tmp| {
            fs::write(tmp, "half").unwrap();
            Err(DataError::Config("boom".into()))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn csv_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("t.csv");
        let mut w = csv_writer(&dest).unwrap();
        w.write_record(["a", "b"]).unwrap();
        assert!(!dest.exists());
        commit_csv(w).unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "a,b\n");
    }
}
