//! What a [`Predictor`] samples with, in words: the lines `gampen predict` prints before its
//! first batch.

use std::path::Path;

use super::Predictor;
use crate::checkpoint::{files, PreprocessingSource};

impl Predictor {
    /// Lines that say which dropout rate the posterior is sampled with, where the
    /// preprocessing comes from when not from the checkpoint, and whether the intervals are
    /// calibrated, and with what (`given`: the file a calibration was read from, if not the
    /// checkpoint's own).
    pub fn describe(&self, given: Option<&Path>) -> Vec<String> {
        let (rate, from) = match self.options().dropout {
            Some(p) => (p, "--dropout"),
            None => (self.dropout().0, "the checkpoint's config.json"),
        };
        let mut lines = vec![format!(
            "sampling with Monte-Carlo dropout rate {rate} (from {from})"
        )];
        let source = self.preprocessing_source();
        if !matches!(source, PreprocessingSource::Checkpoint(_)) {
            lines.push(format!("preprocessing from {source}"));
        }
        lines.push(self.calibration_line(given));
        lines
    }

    /// The one line that says whether the intervals are calibrated, and with what.
    fn calibration_line(&self, given: Option<&Path>) -> String {
        let own = self.dir().join(files::CALIBRATION);
        match (self.options().calibrate, given, self.calibration()) {
            (false, _, Some(_)) => format!(
                "raw intervals: --no-calibration leaves {} unapplied",
                own.display()
            ),
            (_, _, None) => {
                "raw intervals: no calibration (the checkpoint has no calibration.json)".into()
            }
            (true, Some(path), Some(c)) => format!(
                "calibrated intervals: factors {} from --calibration {}",
                c.summary(),
                path.display()
            ),
            (true, None, Some(c)) => format!(
                "calibrated intervals: factors {} from {}",
                c.summary(),
                own.display()
            ),
        }
    }
}
