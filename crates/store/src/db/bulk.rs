//! Statements over many rows at once, in chunks that stay under both databases' bound-parameter
//! limits: inserts of entity rows, updates of an IN list, a value per row by `CASE`, and row
//! locking in a fixed order.

use sea_orm::{DbErr, EntityTrait, Value};

use super::statement::{IN_CHUNK, placeholders};
use super::tx::Tx;

/// Inserts rows in chunks that stay under SQLite's and PostgreSQL's bound-parameter limits.
pub(crate) async fn insert_chunked<E, A>(txn: &Tx<'_>, rows: Vec<A>) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    const ROWS_PER_STATEMENT: usize = 500; // at most 18 columns: 9,000 parameters
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        txn.insert_many::<E, _>(chunk).await?;
    }
    Ok(())
}

/// Runs `sql` (with one `{ids}` slot for an IN list, after the leading `values`) over `ids` in
/// chunks, returning the total rows affected.
pub(crate) async fn execute_in(c: &Tx<'_>, sql: &str, leading: Vec<Value>, ids: &[i64]) -> Result<u64, DbErr> {
    let mut affected = 0;
    for chunk in ids.chunks(IN_CHUNK) {
        let text = sql.replace("{ids}", &placeholders(chunk.len()));
        let mut values = leading.clone();
        values.extend(chunk.iter().map(|&id| Value::from(id)));
        affected += c.execute(&text, values).await?;
    }
    Ok(affected)
}

/// Sets a value per row in one statement per chunk, not one per row: `sql` holds `{case}` (the
/// expression `CASE id WHEN ? THEN ? ... END`, from `pairs` of (id, value)) and `{ids}` (the ids'
/// IN list); `middle` are the values of any placeholders written between the two.
pub(crate) async fn execute_cases(
    c: &Tx<'_>,
    sql: &str,
    pairs: &[(i64, i64)],
    middle: Vec<Value>,
) -> Result<u64, DbErr> {
    let rows: Vec<(i64, [i64; 1])> = pairs.iter().map(|&(id, v)| (id, [v])).collect();
    execute_case_columns(c, &sql.replace("{case}", "{case0}"), &rows, middle).await
}

/// As [`execute_cases`] with `N` values per row: `sql` holds `{case0}` .. `{caseN-1}` in that
/// order, each before any placeholder of `middle`.
pub(crate) async fn execute_case_columns<const N: usize>(
    c: &Tx<'_>,
    sql: &str,
    rows: &[(i64, [i64; N])],
    middle: Vec<Value>,
) -> Result<u64, DbErr> {
    let mut affected = 0;
    for chunk in rows.chunks(IN_CHUNK / (2 * N).max(2)) {
        let case = format!("CASE id {} END", vec!["WHEN ? THEN ?"; chunk.len()].join(" "));
        let mut text = sql.replace("{ids}", &placeholders(chunk.len()));
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * (2 * N + 1) + middle.len());
        for column in 0..N {
            text = text.replace(&format!("{{case{column}}}"), &case);
            values.extend(chunk.iter().flat_map(|&(id, v)| [Value::from(id), Value::from(v[column])]));
        }
        values.extend(middle.iter().cloned());
        values.extend(chunk.iter().map(|&(id, _)| Value::from(id)));
        affected += c.execute(&text, values).await?;
    }
    Ok(affected)
}

/// Locks cluster rows in id order on PostgreSQL, so that concurrent instances merging or
/// splitting the same clusters wait for each other instead of deadlocking. SQLite needs nothing:
/// its writer transactions begin IMMEDIATE and so already run one at a time.
pub(crate) async fn lock_clusters(c: &Tx<'_>, ids: &[i64]) -> Result<(), DbErr> {
    if !c.locks_rows() || ids.is_empty() {
        return Ok(());
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for chunk in sorted.chunks(IN_CHUNK) {
        let text =
            format!("SELECT id FROM clusters WHERE id IN ({}) ORDER BY id FOR UPDATE", placeholders(chunk.len()));
        c.fetch_ids(&text, chunk.iter().map(|&id| Value::from(id)).collect()).await?;
    }
    Ok(())
}
