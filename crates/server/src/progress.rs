//! Progress bars on stderr for long operator commands (`recluster`, the load tool's `seed`): one
//! bar per stage, as the store reports (stage, done, total).

/// The bars of a staged operation.
#[derive(Default)]
pub struct StageBars {
    current: Option<(String, indicatif::ProgressBar)>,
}

impl StageBars {
    /// Shows progress of `stage`; a new stage finishes the previous bar and starts its own.
    pub fn update(&mut self, stage: &str, done: u64, total: u64) {
        if self.current.as_ref().is_none_or(|(s, _)| s != stage) {
            self.finish();
            let style = indicatif::ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            let bar = indicatif::ProgressBar::new(total).with_style(style).with_message(stage.to_owned());
            self.current = Some((stage.to_owned(), bar));
        }
        if let Some((_, bar)) = &self.current {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Finishes the current bar.
    pub fn finish(&mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish();
        }
    }
}
