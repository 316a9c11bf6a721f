//! Rows as the store reads them, from either driver: [`FromRow`] builds one row type from a
//! sea-orm row or a rusqlite row, so that a read is written once whichever executor runs it; and
//! bound values as rusqlite takes them.

use rusqlite::types::{FromSql, Value as Lite};
use sea_orm::{DbErr, FromQueryResult, QueryResult, TryGetable, Value};

use super::entity::{cluster, cluster_event, identifier};

/// The rows of a query on a rusqlite connection, as `T`, its statement from the connection's cache.
pub(crate) fn step_rows<T: FromRow>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: Vec<Lite>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let columns = T::sqlite_columns(&statement)?;
    let rows = statement.query_map(rusqlite::params_from_iter(params), |row| T::from_sqlite(row, &columns))?;
    rows.collect()
}

/// Bound values as rusqlite takes them.
pub(crate) fn lite_params(values: &[Value]) -> Result<Vec<Lite>, DbErr> {
    values.iter().map(lite).collect()
}

/// A bound value as rusqlite takes it; the store binds integers, text, booleans and nulls.
fn lite(value: &Value) -> Result<Lite, DbErr> {
    Ok(match value {
        Value::BigInt(Some(i)) => Lite::Integer(*i),
        Value::Int(Some(i)) => Lite::Integer(i64::from(*i)),
        Value::SmallInt(Some(i)) => Lite::Integer(i64::from(*i)),
        Value::Bool(Some(b)) => Lite::Integer(i64::from(*b)),
        Value::String(Some(s)) => Lite::Text(s.to_string()),
        Value::Double(Some(d)) => Lite::Real(*d),
        Value::BigInt(None)
        | Value::Int(None)
        | Value::SmallInt(None)
        | Value::Bool(None)
        | Value::String(None)
        | Value::Double(None) => Lite::Null,
        other => return Err(DbErr::Custom(format!("a statement bound an unsupported value: {other:?}"))),
    })
}

/// A row type both executors can build.
pub(crate) trait FromRow: Sized {
    /// From a sea-orm row.
    fn from_orm(row: &QueryResult) -> Result<Self, DbErr>;
    /// The positions of the columns [`FromRow::from_sqlite`] reads, in its order, found once per
    /// query rather than by name in every row.
    fn sqlite_columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>>;
    /// From a rusqlite row, reading `columns`.
    fn from_sqlite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self>;
}

/// The next column position of a row type's plan.
fn next(columns: &mut std::slice::Iter<'_, usize>) -> rusqlite::Result<usize> {
    columns.next().copied().ok_or(rusqlite::Error::InvalidColumnIndex(usize::MAX))
}

/// Tuples of columns, by position.
macro_rules! tuple_rows {
    ($($t:ident $i:tt),+) => {
        impl<$($t: TryGetable + FromSql),+> FromRow for ($($t,)+) {
            fn from_orm(row: &QueryResult) -> Result<Self, DbErr> {
                Ok(($(row.try_get_by_index::<$t>($i)?,)+))
            }
            fn sqlite_columns(_: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                Ok(vec![$($i),+])
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, _: &[usize]) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}
tuple_rows!(A 0);
tuple_rows!(A 0, B 1);
tuple_rows!(A 0, B 1, C 2);
tuple_rows!(A 0, B 1, C 2, D 3);
tuple_rows!(A 0, B 1, C 2, D 3, E 4);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_rows!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);

/// Entity models, by column name (the queries select `*` of their table).
macro_rules! model_rows {
    ($($model:path { $($field:ident),+ $(,)? })+) => {$(
        impl FromRow for $model {
            fn from_orm(row: &QueryResult) -> Result<Self, DbErr> {
                <$model>::from_query_result(row, "")
            }
            fn sqlite_columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                [$(stringify!($field)),+].iter().map(|name| statement.column_index(name)).collect()
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
                let mut at = columns.iter();
                // Fields are read in the order they are written, which is the order of `columns`.
                Ok(Self { $($field: row.get(next(&mut at)?)?),+ })
            }
        }
    )+};
}
model_rows! {
    cluster::Model {
        id, created_at, status, version, merged_into, assignee, disposition, referred_to, claim_holder,
        claim_expires_at, report_count, victim_count, reference_currency, total_loss_minor, loss_by_currency,
        recoverable_minor, recall_closes_at, first_seen, last_seen, categories, countries, ongoing_reports,
        identifiers_by_kind, priority_milli, priority_components, priority_at, rescore_at, tags,
    }
    identifier::Model {
        id, key, kind, display, state, state_reason, state_source, state_changed_at, report_count, first_seen,
        last_seen, cluster_id, category_mask, strong_count, institutional, bridge, bridge_detail, bridge_groups,
        bridge_judged_at,
    }
    cluster_event::Model { id, cluster_id, at, kind, other_cluster_id, actor, detail }
}

/// An identifier row with its cluster's total loss (`cluster_loss`) and loss by currency
/// (`cluster_loss_by_currency`), as a lookup reads it.
pub(crate) struct IdentifierWithLoss {
    /// The identifier.
    pub row: identifier::Model,
    /// Its cluster's total loss, when it has a cluster.
    pub cluster_loss: Option<i64>,
    /// Its cluster's `loss_by_currency`, when it has a cluster.
    pub cluster_loss_by_currency: Option<String>,
}

impl FromRow for IdentifierWithLoss {
    fn from_orm(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            row: identifier::Model::from_orm(row)?,
            cluster_loss: row.try_get("", "cluster_loss")?,
            cluster_loss_by_currency: row.try_get("", "cluster_loss_by_currency")?,
        })
    }
    fn sqlite_columns(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
        let mut columns = identifier::Model::sqlite_columns(statement)?;
        columns.push(statement.column_index("cluster_loss")?);
        columns.push(statement.column_index("cluster_loss_by_currency")?);
        Ok(columns)
    }
    fn from_sqlite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
        let (own, extra) = columns.split_at(columns.len().saturating_sub(2));
        let [loss, by_currency] = extra else { return Err(rusqlite::Error::InvalidColumnIndex(usize::MAX)) };
        Ok(Self {
            row: identifier::Model::from_sqlite(row, own)?,
            cluster_loss: row.get(*loss)?,
            cluster_loss_by_currency: row.get(*by_currency)?,
        })
    }
}
