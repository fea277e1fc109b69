//! Progress bars on stderr.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` items labelled `what` (hidden when `len` is 0 or stderr is not a terminal,
/// as indicatif decides).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{bar:30}}] {{pos}}/{{len}} {{msg}} ({{elapsed}} elapsed, eta {{eta}})"
        ))
        .expect("static template")
        .progress_chars("=> "),
    );
    bar
}

/// A spinner counting items of unknown total.
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what}: {{pos}} {{msg}} ({{elapsed}})"
        ))
        .expect("static template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
