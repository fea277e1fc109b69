//! What a resumed run repairs before it continues: temporaries a killed process left in the
//! run directory, and a `metrics.jsonl` that does not match the checkpoint it resumes from.

use std::fs::{self, File};
use std::path::Path;

use super::metrics::EpochMetrics;
use crate::atomic::{liveness_known, process_alive, write_atomic};
use crate::error::GampenError;

/// Removes `.<name>.tmp-<pid>` and restores or removes `.<name>.old-<pid>` entries of
/// processes that no longer run, in the run directory and its `checkpoints/`.
///
/// A killed checkpoint save leaves a half-written `.epoch-N.tmp-PID`; a kill during the
/// swap of a replaced checkpoint leaves the previous one as `.epoch-N.old-PID`, which is put
/// back when `epoch-N` is missing. Without `/proc` liveness cannot be told, so nothing is
/// touched (a concurrent writer's temporary is never taken from under it).
pub(crate) fn clean_stale_temporaries(run_dir: &Path) -> Result<(), GampenError> {
    if !liveness_known() {
        return Ok(());
    }
    for dir in [run_dir.to_path_buf(), run_dir.join("checkpoints")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some((target, kind)) = name.to_str().and_then(stale_entry) else {
                continue;
            };
            let path = entry.path();
            let original = dir.join(target);
            let result = if kind == Kind::Old && !original.exists() {
                fs::rename(&path, &original)
            } else if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            result.map_err(|e| GampenError::io(&path, e))?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tmp,
    Old,
}

/// `.<target>.tmp-<pid>` or `.<target>.old-<pid>` of a process that is gone.
fn stale_entry(name: &str) -> Option<(&str, Kind)> {
    let rest = name.strip_prefix('.')?;
    let (head, pid) = rest.rsplit_once('-')?;
    let (target, kind) = if let Some(t) = head.strip_suffix(".tmp") {
        (t, Kind::Tmp)
    } else {
        (head.strip_suffix(".old")?, Kind::Old)
    };
    let pid: u32 = pid.parse().ok()?;
    (!process_alive(pid) && !target.is_empty()).then_some((target, kind))
}

/// Rewrites `metrics.jsonl` to exactly the epochs of `history` (the resumed checkpoint's),
/// then opens it for appending. A kill between a checkpoint and its log line would leave a
/// gap, and one after the log line but before the checkpoint a repeated epoch; the
/// checkpoint's own history is the record both agree on.
pub(crate) fn open_metrics_log(
    run_dir: &Path,
    history: &[EpochMetrics],
) -> Result<File, GampenError> {
    let path = run_dir.join("metrics.jsonl");
    let mut text = String::new();
    for m in history {
        text.push_str(&serde_json::to_string(m).map_err(|e| GampenError::io(&path, e.into()))?);
        text.push('\n');
    }
    write_atomic(&path, text.as_bytes())?;
    fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| GampenError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_entries_of_dead_processes_are_stale() {
        let dead = u32::MAX;
        let me = std::process::id();
        assert_eq!(
            stale_entry(&format!(".epoch-0003.tmp-{dead}")),
            Some(("epoch-0003", Kind::Tmp))
        );
        assert_eq!(
            stale_entry(&format!(".epoch-0003.old-{dead}")),
            Some(("epoch-0003", Kind::Old))
        );
        assert_eq!(stale_entry(&format!(".epoch-0003.tmp-{me}")), None);
        assert_eq!(stale_entry("epoch-0003"), None);
        assert_eq!(stale_entry(".hidden"), None);
        assert_eq!(stale_entry(".x.tmp-abc"), None);
    }
}
