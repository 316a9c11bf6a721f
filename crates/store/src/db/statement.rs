//! Statements with portable placeholders, for what sea-orm's entity API does not say plainly:
//! joins, set-based updates, `ON CONFLICT DO NOTHING` over many rows. Each statement is written once, with `?` placeholders,
//! in SQL that SQLite and PostgreSQL both accept; PostgreSQL's numbered `$n` placeholders are made
//! here (sea-query does this for built statements, but not for raw SQL).

use sea_orm::{DbBackend, Statement, Value};

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

/// `?, ?, ?` for `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
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
