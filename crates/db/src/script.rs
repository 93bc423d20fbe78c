//! The statements of one transaction, collected before any is run.
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement is a round trip
//! to that thread, and with one request in flight each trip wakes an idle thread: the disclosure
//! log's seven statements cost more than its fsync. A `Script` lets SQLite run a whole
//! transaction in one call (anonymous `?` parameters number on across the statements of one SQL
//! text); PostgreSQL, whose protocol takes one statement per query, runs them one by one.

use sqlx::{AnyConnection, AssertSqlSafe, Executor, any::AnyArguments, query::Query};

use crate::Backend;

/// A value bound to a parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Default)]
pub struct Script {
    statements: Vec<(String, Vec<Arg>)>,
}

impl Script {
    pub fn push(&mut self, sql: String, args: Vec<Arg>) {
        self.statements.push((sql, args));
    }

    /// Runs the statements in the caller's transaction: on SQLite in one call, on PostgreSQL one
    /// by one.
    pub async fn run(self, conn: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
        if self.statements.is_empty() {
            return Ok(());
        }
        if backend == Backend::Sqlite {
            let (sql, args) = self.joined();
            conn.execute(bound(sql, args)).await?;
            return Ok(());
        }
        for (sql, args) in self.statements {
            conn.execute(bound(sql, args)).await?;
        }
        Ok(())
    }

    /// SQLite only: `BEGIN IMMEDIATE`, the statements and `COMMIT` in one call. If any statement
    /// fails, the transaction is rolled back (if one was begun) and the statement's error
    /// returned.
    pub async fn commit_at_once(self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let (sql, args) = self.joined();
        let sql = format!("BEGIN IMMEDIATE;\n{sql};\nCOMMIT");
        let Err(failed) = conn.execute(bound(sql, args)).await else { return Ok(()) };
        // Fails if BEGIN itself did; a connection that cannot roll back is the caller's to drop.
        let _ = conn.execute("ROLLBACK").await;
        Err(failed)
    }

    /// One SQL text of all the statements, and their arguments in order. Only anonymous `?`
    /// parameters may be used: SQLite numbers those on across statements, whereas `$n` would
    /// name the script's n-th argument, not the statement's.
    fn joined(self) -> (String, Vec<Arg>) {
        let mut sql = String::new();
        let mut all = Vec::new();
        for (statement, args) in self.statements {
            if !sql.is_empty() {
                sql.push_str(";\n");
            }
            sql.push_str(&statement);
            all.extend(args);
        }
        (sql, all)
    }
}

fn bound(sql: String, args: Vec<Arg>) -> Query<'static, sqlx::Any, AnyArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
            Arg::Bytes(value) => query.bind(value),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, Row};

    use super::*;

    async fn memory() -> Result<AnyConnection, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect("sqlite::memory:").await?;
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, blob BLOB)").await?;
        Ok(conn)
    }

    async fn rows(conn: &mut AnyConnection) -> Result<Vec<(i64, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, name FROM t ORDER BY id").fetch_all(&mut *conn).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect()
    }

    fn insert(script: &mut Script, id: i64, name: &str) {
        let args = vec![Arg::Int(id), Arg::Text(name.into()), Arg::Bytes(vec![1, 2])];
        script.push("INSERT INTO t (id, name, blob) VALUES (?, ?, ?)".into(), args);
    }

    #[tokio::test]
    async fn each_statement_gets_its_own_arguments() -> Result<(), sqlx::Error> {
        let mut conn = memory().await?;
        let mut script = Script::default();
        insert(&mut script, 1, "first");
        insert(&mut script, 2, "second");
        script.push("UPDATE t SET name = ? WHERE id = ?".into(), vec![Arg::Text("changed".into()), Arg::Int(1)]);
        script.commit_at_once(&mut conn).await?;
        assert_eq!(rows(&mut conn).await?, [(1, "changed".into()), (2, "second".into())]);
        Ok(())
    }

    #[tokio::test]
    async fn a_failing_statement_rolls_back_the_statements_before_it() -> Result<(), sqlx::Error> {
        let mut conn = memory().await?;
        let mut script = Script::default();
        insert(&mut script, 1, "kept only if all commit");
        insert(&mut script, 1, "the same id again");
        assert!(script.commit_at_once(&mut conn).await.is_err());
        assert_eq!(rows(&mut conn).await?, []);
        // The connection is usable afterwards: no transaction was left open on it.
        let mut script = Script::default();
        insert(&mut script, 3, "after");
        script.commit_at_once(&mut conn).await?;
        assert_eq!(rows(&mut conn).await?, [(3, "after".into())]);
        Ok(())
    }
}
