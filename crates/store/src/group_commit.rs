//! The one group-commit runner, used by both serial writers: the report writer
//! (`intake::ReportWriter`) and the audit trail's (`audit::TrailWriter`).
//!
//! A writer runs on a thread of its own with a runtime of its own: on the server's shared runtime
//! each of its awaits would resume behind the calls in flight, and on a connection of its own
//! (a SQLite file) its statements block the thread they run on. It takes whatever items are
//! waiting, up to a batch, and commits them together; each caller is answered by the
//! [`Committer`] after the commit that holds its item, which is what makes the answer durable.
//!
//! Each batch is measured for the operator: `scamtrail_writer_batch_size` and
//! `scamtrail_writer_commit_seconds`, labelled with the writer (`reports`, `audit`); without a
//! metrics recorder installed (no `--metrics-listen`) these cost nothing.

use std::time::Duration;

use tokio::sync::mpsc;

/// What a writer does with a batch.
pub(crate) trait Committer: Send + 'static {
    /// What callers send.
    type Item: Send + 'static;

    /// Commits the batch (in the order the items came) and answers each item's caller after the
    /// commit; the batch is cleared afterwards.
    async fn commit(&mut self, batch: &mut Vec<Self::Item>);

    /// Whether someone waits for the item's answer; a batch of items nobody waits for may linger
    /// for company ([`Batching::linger`]).
    fn waited_for(_item: &Self::Item) -> bool {
        true
    }
}

/// How a writer batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    /// Items in one commit at most.
    pub max: usize,
    /// How long a batch of items nobody waits for may wait for more; `None` commits at once.
    pub linger: Option<Duration>,
}

/// Starts the writer `writer` (`reports`, `audit`) on a thread of its own, `scamtrail-WRITER`; it
/// ends when every sender is dropped and the queue is drained. Returns where to send items (room
/// for four batches: callers wait only when it is full).
pub(crate) fn spawn<C: Committer>(
    writer: &'static str,
    batching: Batching,
    committer: C,
) -> std::io::Result<mpsc::Sender<C::Item>> {
    let max = batching.max.max(1);
    let (tx, rx) = mpsc::channel(max * 4);
    spawn_thread(&format!("scamtrail-{writer}"), move || run(writer, committer, rx, max, batching.linger))?;
    Ok(tx)
}

async fn run<C: Committer>(
    writer: &'static str,
    mut committer: C,
    mut rx: mpsc::Receiver<C::Item>,
    max: usize,
    linger: Option<Duration>,
) {
    let mut batch = Vec::with_capacity(max);
    while rx.recv_many(&mut batch, max).await > 0 {
        if let Some(linger) = linger {
            // An item someone waits for ends the wait.
            let lingering_until = tokio::time::Instant::now() + linger;
            while batch.len() < max && !batch.iter().any(C::waited_for) {
                let room = max - batch.len();
                match tokio::time::timeout_at(lingering_until, rx.recv_many(&mut batch, room)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        metrics::histogram!("scamtrail_writer_batch_size", "writer" => writer).record(batch.len() as f64);
        let started = std::time::Instant::now();
        committer.commit(&mut batch).await;
        metrics::histogram!("scamtrail_writer_commit_seconds", "writer" => writer)
            .record(started.elapsed().as_secs_f64());
        batch.clear();
    }
}

/// Runs the future `make` makes on a thread of its own, with a runtime of its own, until it ends.
fn spawn_thread<F: std::future::Future<Output = ()>>(
    name: &str,
    make: impl FnOnce() -> F + Send + 'static,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name(name.to_owned()).spawn(move || runtime.block_on(make()))?;
    Ok(())
}
