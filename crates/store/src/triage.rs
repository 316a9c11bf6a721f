//! Investigators' changes, each in a transaction of its own: identifier decisions (exclude,
//! safelist, back to normal), claims (a lease that lapses), and workflow updates that check the
//! cluster's version. Claims are conditional updates — "set the claim where nobody holds a live
//! one" — so that two callers can never both win, on SQLite and on PostgreSQL alike.

use scamtrail_core::{ClusterStatus, Disposition, IdentifierState, UnixMicros};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, Value};

use crate::StoreError;
use crate::clustering::{self, ClusterConfig, LinkKey, Pending};
use crate::entity::{cluster, identifier};
use crate::queue::{self, Queue, QueueFilter};
use crate::sql::{execute, lock_clusters, query};
use crate::tx::Tx;
use crate::writer::begin;
use scamtrail_core::EventKind;

/// A change to a cluster's triage state; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterUpdate {
    /// The cluster.
    pub cluster_id: i64,
    /// The version the caller read.
    pub version: i64,
    /// The new status.
    pub status: Option<ClusterStatus>,
    /// The new assignee; `Some(None)` clears it.
    pub assignee: Option<Option<String>>,
    /// Why it is closed.
    pub disposition: Option<Disposition>,
    /// The agency it is referred to.
    pub referred_to: Option<String>,
    /// A note to add.
    pub note: Option<String>,
    /// Whether the caller may reopen a closed cluster and assign or unassign others.
    pub supervisor: bool,
}

/// Where an identifier decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateSource {
    /// The safelist file shipped with scamtrail or given at start.
    Shipped,
    /// An investigator or administrator over the API.
    Api,
}

impl StateSource {
    fn as_str(self) -> &'static str {
        match self {
            StateSource::Shipped => "shipped",
            StateSource::Api => "api",
        }
    }
}

/// Sets an identifier's state, splitting or merging clusters as it stops or starts linking.
/// Returns the clusters created by a split or the survivor of a merge.
#[allow(clippy::too_many_arguments)] // one decision: what, to which state, why, by whom, from where
pub(crate) async fn set_identifier_state(
    txn: &DatabaseTransaction,
    config: &ClusterConfig,
    pending: &mut Pending,
    now: UnixMicros,
    key: &LinkKey,
    state: IdentifierState,
    reason: &str,
    actor: &str,
    source: StateSource,
) -> Result<Vec<i64>, DbErr> {
    clustering::ensure_identifiers(&Tx::Orm(txn), &[key]).await?;
    let row = clustering::identifiers_by_key(&Tx::Orm(txn), &[key.key.as_str()])
        .await?
        .remove(&key.key)
        .ok_or_else(|| DbErr::Custom(format!("identifier {} vanished", key.key)))?;
    let was_linking = row.state == IdentifierState::Normal.as_str();
    let links = state == IdentifierState::Normal;
    execute(
        txn,
        "UPDATE identifiers SET state = ?, state_reason = ?, state_source = ?, state_changed_at = ? WHERE id = ?",
        vec![state.as_str().into(), reason.into(), source.as_str().into(), now.0.into(), row.id.into()],
    )
    .await?;
    let why = format!("{} {} by {actor}: {reason}", key.key, state.as_str());
    match (was_linking, links, row.cluster_id) {
        (true, false, Some(c)) => {
            execute(txn, "UPDATE identifiers SET cluster_id = NULL WHERE id = ?", vec![row.id.into()]).await?;
            clustering::split_cluster(&Tx::Orm(txn), config, pending, now, c, actor, &why).await
        }
        (false, true, _) => {
            let clusters: Vec<i64> = query(
                txn,
                "SELECT DISTINCT r.cluster_id FROM report_links l JOIN reports r ON r.id = l.report_id \
                 WHERE l.identifier_id = ? AND r.cluster_id IS NOT NULL",
                vec![row.id.into()],
            )
            .await?
            .iter()
            .map(|r| r.try_get_by_index(0))
            .collect::<Result<_, _>>()?;
            if clusters.is_empty() {
                return Ok(Vec::new());
            }
            let survivor = clustering::merge_clusters(&Tx::Orm(txn), pending, now, &clusters, actor, &why).await?;
            execute(txn, "UPDATE identifiers SET cluster_id = ? WHERE id = ?", vec![survivor.into(), row.id.into()])
                .await?;
            clustering::recompute(&Tx::Orm(txn), config, &[survivor], now).await?;
            Ok(vec![survivor])
        }
        _ => Ok(Vec::new()),
    }
}

/// Reads one identifier row by key.
pub(crate) async fn identifier_row(
    db: &impl sea_orm::ConnectionTrait,
    key: &str,
) -> Result<Option<identifier::Model>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    identifier::Entity::find().filter(identifier::Column::Key.eq(key)).one(db).await
}

/// Claims the first unclaimed cluster of a queue for `holder` until `now + lease`.
pub(crate) async fn claim_next(
    db: &DatabaseConnection,
    config: &ClusterConfig,
    queue: Queue,
    filter: &QueueFilter,
    holder: &str,
    lease_seconds: i64,
) -> Result<(Option<cluster::Model>, Pending), StoreError> {
    // A competing claimer may win the candidate between the read and the conditional update;
    // then the next candidate is tried. Each try is its own short transaction.
    let mut tried: Vec<i64> = Vec::new();
    for _ in 0..64 {
        let now = UnixMicros::now();
        let txn = begin(db).await?;
        let (condition, mut values) = queue::condition(queue, filter, now, config.hot_threshold);
        let mut sql = format!("SELECT c.id FROM clusters c WHERE {condition}");
        if !tried.is_empty() {
            sql.push_str(&format!(" AND c.id NOT IN ({})", crate::sql::placeholders(tried.len())));
            values.extend(tried.iter().map(|&t| Value::from(t)));
        }
        sql.push_str(" ORDER BY c.priority_milli DESC, c.id ASC LIMIT 1");
        let Some(candidate) =
            query(&txn, &sql, values).await?.first().map(|r| r.try_get_by_index::<i64>(0)).transpose()?
        else {
            txn.commit().await?;
            return Ok((None, Pending::default()));
        };
        let expires = now.plus_seconds(lease_seconds);
        let won = execute(
            &txn,
            "UPDATE clusters SET claim_holder = ?, claim_expires_at = ?, \
             status = CASE WHEN status = 'new' THEN 'triaging' ELSE status END, version = version + 1 \
             WHERE id = ? AND status IN ('new', 'triaging') AND (claim_expires_at IS NULL OR claim_expires_at <= ?)",
            vec![holder.into(), expires.0.into(), candidate.into(), now.0.into()],
        )
        .await?;
        if won == 1 {
            let mut pending = Pending::default();
            let detail = format!("lease until {}", expires.0);
            pending
                .record(&Tx::Orm(&txn), clustering::event(EventKind::Claimed, candidate, None, now, holder, detail))
                .await?;
            let row = cluster::Entity::find_by_id(candidate).one(&txn).await?;
            txn.commit().await?;
            return Ok((row, pending));
        }
        txn.rollback().await?;
        tried.push(candidate);
    }
    Err(StoreError::Busy)
}

/// Reads a cluster for a change, failing if it is missing or merged away.
async fn open_cluster(txn: &DatabaseTransaction, id: i64) -> Result<cluster::Model, StoreError> {
    lock_clusters(&Tx::Orm(txn), &[id]).await?;
    let row = cluster::Entity::find_by_id(id).one(txn).await?.ok_or(StoreError::NotFound("cluster"))?;
    if let Some(into) = row.merged_into {
        return Err(StoreError::Merged { id, into });
    }
    Ok(row)
}

/// Extends (`lease_seconds > 0`) or releases (`None`) the caller's live claim.
pub(crate) async fn change_claim(
    db: &DatabaseConnection,
    id: i64,
    holder: &str,
    lease_seconds: Option<i64>,
) -> Result<(cluster::Model, Pending), StoreError> {
    let now = UnixMicros::now();
    let txn = begin(db).await?;
    let row = open_cluster(&txn, id).await?;
    let live = row.claim_holder.as_deref() == Some(holder) && row.claim_expires_at.is_some_and(|t| t > now.0);
    if !live {
        return Err(StoreError::NotClaimed(id));
    }
    let mut pending = Pending::default();
    match lease_seconds {
        Some(lease) => {
            let expires = now.plus_seconds(lease);
            execute(&txn, "UPDATE clusters SET claim_expires_at = ? WHERE id = ?", vec![expires.0.into(), id.into()])
                .await?;
            // Renewals are broadcast but not kept: a long investigation would fill the history.
            pending.broadcast_only(clustering::event(
                EventKind::Claimed,
                id,
                None,
                now,
                holder,
                format!("renewed until {}", expires.0),
            ));
        }
        None => {
            execute(
                &txn,
                "UPDATE clusters SET claim_holder = NULL, claim_expires_at = NULL, version = version + 1 WHERE id = ?",
                vec![id.into()],
            )
            .await?;
            pending
                .record(&Tx::Orm(&txn), clustering::event(EventKind::Released, id, None, now, holder, String::new()))
                .await?;
        }
    }
    let row = cluster::Entity::find_by_id(id).one(&txn).await?.ok_or(StoreError::NotFound("cluster"))?;
    txn.commit().await?;
    Ok((row, pending))
}

/// Applies a workflow change if the version still matches.
pub(crate) async fn update_cluster(
    db: &DatabaseConnection,
    update: &ClusterUpdate,
    actor: &str,
) -> Result<(cluster::Model, Pending), StoreError> {
    let now = UnixMicros::now();
    let txn = begin(db).await?;
    let row = open_cluster(&txn, update.cluster_id).await?;
    if row.version != update.version {
        return Err(StoreError::StaleVersion { id: row.id, expected: update.version, current: row.version });
    }
    let from: ClusterStatus =
        row.status.parse().map_err(|_| StoreError::Corrupt(format!("clusters.status = {:?}", row.status)))?;
    if !update.supervisor {
        let reopens = from == ClusterStatus::Closed && update.status.is_some_and(|to| to != ClusterStatus::Closed);
        if reopens {
            return Err(StoreError::Forbidden("only a supervisor reopens a closed cluster".into()));
        }
        let others = |name: &Option<String>| name.as_deref().is_some_and(|n| n != actor);
        let touches_others = match &update.assignee {
            Some(new) => others(new) || others(&row.assignee),
            None => false,
        };
        if touches_others {
            return Err(StoreError::Forbidden("only a supervisor assigns or unassigns someone else".into()));
        }
    }
    let mut changes: Vec<String> = Vec::new();
    let mut status = from;
    if let Some(to) = update.status {
        from.check_transition(to)?;
        if to != from {
            changes.push(format!("status {} → {}", from.as_str(), to.as_str()));
        }
        status = to;
    }
    let mut assignee = row.assignee.clone();
    if let Some(a) = &update.assignee {
        changes.push(format!("assignee {}", a.as_deref().unwrap_or("cleared")));
        assignee = a.clone();
    }
    let mut disposition = row.disposition.clone();
    if let Some(d) = update.disposition {
        changes.push(format!("disposition {}", d.as_str()));
        disposition = Some(d.as_str().to_owned());
    }
    if from == ClusterStatus::Closed && status != ClusterStatus::Closed {
        disposition = None; // reopened: the old disposition no longer holds
    }
    let mut referred_to = row.referred_to.clone();
    if let Some(r) = &update.referred_to {
        changes.push(format!("referred to {r}"));
        referred_to = Some(r.clone());
    }
    let affected = execute(
        &txn,
        "UPDATE clusters SET status = ?, assignee = ?, disposition = ?, referred_to = ?, version = version + 1 \
         WHERE id = ? AND version = ?",
        vec![
            status.as_str().into(),
            assignee.into(),
            disposition.into(),
            referred_to.into(),
            row.id.into(),
            update.version.into(),
        ],
    )
    .await?;
    if affected != 1 {
        return Err(StoreError::StaleVersion { id: row.id, expected: update.version, current: row.version + 1 });
    }
    let mut pending = Pending::default();
    if !changes.is_empty() {
        pending
            .record(
                &Tx::Orm(&txn),
                clustering::event(EventKind::StatusChanged, row.id, None, now, actor, changes.join("; ")),
            )
            .await?;
    }
    if let Some(note) = &update.note {
        pending
            .record(&Tx::Orm(&txn), clustering::event(EventKind::Note, row.id, None, now, actor, note.clone()))
            .await?;
    }
    let row = cluster::Entity::find_by_id(row.id).one(&txn).await?.ok_or(StoreError::NotFound("cluster"))?;
    txn.commit().await?;
    Ok((row, pending))
}

/// Recomputes the priority of clusters whose score time alone has changed (a recall window
/// closed, a report aged out of the velocity window). Returns the events of changed priorities.
pub(crate) async fn rescore_due(
    db: &DatabaseConnection,
    config: &ClusterConfig,
    limit: u64,
) -> Result<Pending, StoreError> {
    let now = UnixMicros::now();
    let txn = crate::writer::begin_clustering(db).await?;
    let due: Vec<(i64, i64)> = query(
        &txn,
        "SELECT id, priority_milli FROM clusters WHERE rescore_at IS NOT NULL AND rescore_at <= ? \
         AND merged_into IS NULL ORDER BY rescore_at LIMIT ?",
        vec![now.0.into(), (limit as i64).into()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
    .collect::<Result<_, DbErr>>()?;
    let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
    let after = clustering::recompute(&Tx::Orm(&txn), config, &ids, now).await?;
    let mut pending = Pending::default();
    for (id, before) in due {
        let after = after.get(&id).copied();
        if after != Some(before) {
            let detail = format!("{:.3} → {:.3}", before as f64 / 1000.0, after.unwrap_or(0) as f64 / 1000.0);
            pending
                .record(
                    &Tx::Orm(&txn),
                    clustering::event(EventKind::PriorityChanged, id, None, now, clustering::SYSTEM, detail),
                )
                .await?;
        }
    }
    txn.commit().await?;
    Ok(pending)
}
