//! The input/output path policy (docs/safety.md): inputs and outputs are compared as
//! canonical paths (symlinks, `.` and `..` resolved; an output that does not exist yet is its
//! canonical parent joined with its name), and an output may not be an input, lie inside an
//! input directory, or replace a directory an input lies in. Together with [`crate::atomic`]
//! this is what keeps every command from overwriting or truncating what it reads.

use std::path::{Component, Path, PathBuf};

use crate::error::DataError;

/// The canonical absolute form of `path`, whether or not it exists: every existing prefix
/// is resolved by the file system (symlinks included), the rest is appended lexically.
pub fn canonical(path: &Path) -> Result<PathBuf, DataError> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Ok(p);
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|e| DataError::io(Path::new("."), e))?;
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

/// A path with the name it was given under (a command-line flag, an argument name).
pub type Flagged<'a> = (&'a str, &'a Path);

/// Refuses `outputs` that are, or lie inside, any of `inputs`, inputs that lie inside an
/// output (which a directory output would replace), and two outputs that are one path (a
/// file output inside a directory output, such as crop's grid PNG, is written after it).
pub fn check_io(inputs: &[Flagged], outputs: &[Flagged]) -> Result<(), DataError> {
    let canon = |list: &[Flagged]| -> Result<Vec<(String, PathBuf, PathBuf)>, DataError> {
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
            return Err(DataError::PathConflict(format!(
                "{oflag} {} {how} input {iflag} {}: choose another {oflag}",
                opath.display(),
                ipath.display()
            )));
        }
        for (flag, path, other) in &outs[i + 1..] {
            if out == other {
                return Err(DataError::PathConflict(format!(
                    "{oflag} {} and {flag} {} are the same path: give them different paths",
                    opath.display(),
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Creates `dir` and its parents, naming it on failure.
pub fn create_dir(dir: &Path) -> Result<(), DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))
}

/// Creates the directory the output file `path` goes into.
pub fn create_parent(path: &Path) -> Result<(), DataError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => create_dir(dir),
        None => Ok(()),
    }
}

/// True when `dir` exists and is not an empty directory.
pub fn is_occupied(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => dir.exists(),
    }
}

/// Refuses an existing, non-empty `dir` (given as `flag`) unless `force`.
pub fn require_force(flag: &str, dir: &Path, force: bool) -> Result<(), DataError> {
    if force || !is_occupied(dir) {
        return Ok(());
    }
    Err(DataError::PathConflict(format!(
        "{flag} {} exists and is not empty: pass --force to replace it, or choose another {flag}",
        dir.display()
    )))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_force_replaces_a_non_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        assert!(require_force("--out", &out, false).is_ok());
        std::fs::create_dir(&out).unwrap();
        assert!(!is_occupied(&out) && require_force("--out", &out, false).is_ok());
        std::fs::write(out.join("a"), "x").unwrap();
        let err = require_force("--out", &out, false).unwrap_err().to_string();
        assert!(err.contains("--out") && err.contains("--force"), "{err}");
        assert!(require_force("--out", &out, true).is_ok());
    }

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
