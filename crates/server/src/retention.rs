//! The retention policy: victims' personal data and free text are erased `--retention-months`
//! after their report's cluster was closed (never while it is open or referred: a legal hold),
//! and victims' own erasure requests made during a hold are applied once it ends. A background
//! task of the server runs a pass at start and every [`RETENTION_EVERY`]; `scamtrail retention
//! run [--dry-run]` runs one from the command line. Each batch of reports is named in the audit
//! trail before it is erased (no event written, nothing erased).

use std::time::Duration;

use scamtrail_core::{AuditEvent, UnixMicros};
use scamtrail_store::{Access, RETENTION_BATCH, Retention, Store, StoreError};

/// How often the server applies the policy.
pub const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// The retention period when none is set, in months.
pub const DEFAULT_RETENTION_MONTHS: u32 = 24;

/// The longest retention period accepted, in months (a hundred years).
pub const RETENTION_MONTHS_MAX: u32 = 1_200;

/// A month of the policy: the mean Gregorian month (365.2425 days / 12), in seconds.
const MONTH_SECONDS: i64 = 2_629_746;

/// Reports of clusters closed before this instant are due, `months` before `now`.
pub fn closed_before(now: UnixMicros, months: u32) -> UnixMicros {
    UnixMicros(now.0.saturating_sub(i64::from(months) * MONTH_SECONDS * 1_000_000))
}

/// Who a pass is recorded as in the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// `system` for the server's task, `cli` for the command.
    pub actor: &'static str,
    /// The action recorded (`retention`, `scamtrail retention run`).
    pub action: &'static str,
    /// The peer recorded (`server`, `cli`).
    pub peer: &'static str,
}

/// The server's background task.
pub const SERVER: Actor = Actor { actor: "system", action: "retention", peer: "server" };

/// One pass: every due report, a batch at a time, each batch recorded in the audit trail and then
/// erased; with `dry_run`, only listed (`on_batch` sees each batch either way). Returns how many
/// reports were erased (or would be).
pub async fn pass(
    retention: &Retention,
    access: &Access,
    who: Actor,
    dry_run: bool,
    on_batch: &mut (dyn FnMut(&[i64]) + Send),
) -> Result<u64, StoreError> {
    let mut total = 0u64;
    let mut after = 0;
    loop {
        let due = retention.due(after, RETENTION_BATCH).await?;
        let Some(&last) = due.last() else { break };
        if dry_run {
            after = last;
            on_batch(&due);
            total += due.len() as u64;
            continue;
        }
        let targets = due.iter().map(|id| format!("report:{id}")).collect();
        access.append_audit(&mut [AuditEvent::now(who.actor, who.actor, who.action, targets, who.peer, "OK")]).await?;
        let erased = retention.erase(&due).await?;
        on_batch(&erased);
        total += erased.len() as u64;
        // A due report not erased (its cluster reopened meanwhile) is no longer due: the next
        // batch starts after this one, so that it is not taken again in this pass.
        after = last;
    }
    Ok(total)
}

/// Applies the policy (`months`, or victims' requests alone when `None`) every
/// [`RETENTION_EVERY`] until the store is dropped.
pub fn spawn(store: &Store, access: Access, months: Option<u32>) {
    let store = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RETENTION_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let retention = store.retention(months.map(|m| closed_before(UnixMicros::now(), m)));
            match pass(&retention, &access, SERVER, false, &mut |_| {}).await {
                Ok(0) => {}
                Ok(erased) => tracing::info!(erased, "retention: personal data erased"),
                Err(e) => tracing::warn!(error = %e, "retention pass failed; trying again at the next tick"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_the_mean_gregorian_month() {
        let now = UnixMicros(1_000 * 365 * 86_400 * 1_000_000);
        let year_ago = closed_before(now, 12);
        assert_eq!(now.0 - year_ago.0, 31_556_952 * 1_000_000, "twelve months are 365.2425 days");
        assert_eq!(closed_before(UnixMicros(0), RETENTION_MONTHS_MAX).0, -(1_200 * MONTH_SECONDS * 1_000_000));
    }
}
