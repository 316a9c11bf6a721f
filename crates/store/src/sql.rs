//! Raw statements, for what sea-orm's entity API does not say plainly: joins, set-based updates,
//! `ON CONFLICT DO NOTHING` over many rows. Each statement is written once, with `?` placeholders,
//! in SQL that SQLite and PostgreSQL both accept; PostgreSQL's numbered `$n` placeholders are made
//! here (sea-query does this for built statements, but not for raw SQL).

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

use crate::tx::Tx;

/// Rows of a statement at most per IN list, well under both databases' bound-parameter limits.
pub(crate) const IN_CHUNK: usize = 500;

/// Builds a statement for `backend` from SQL with `?` placeholders.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push('$');
                    numbered.push_str(&n.to_string());
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Runs a query and returns its rows.
pub(crate) async fn query(c: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>, DbErr> {
    c.query_all_raw(statement(c.get_database_backend(), sql, values)).await
}

/// Runs a statement and returns the rows it affected.
pub(crate) async fn execute(c: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
    Ok(c.execute_raw(statement(c.get_database_backend(), sql, values)).await?.rows_affected())
}

/// `?, ?, ?` for `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
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
    if c.backend() != DbBackend::Postgres || ids.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered_and_sqlite_ones_kept() {
        let pg = statement(DbBackend::Postgres, "UPDATE t SET a = ? WHERE b IN (?, ?)", vec![]);
        assert_eq!(pg.sql, "UPDATE t SET a = $1 WHERE b IN ($2, $3)");
        let lite = statement(DbBackend::Sqlite, "UPDATE t SET a = ? WHERE b IN (?, ?)", vec![]);
        assert_eq!(lite.sql, "UPDATE t SET a = ? WHERE b IN (?, ?)");
        assert_eq!(placeholders(3), "?, ?, ?");
    }
}
