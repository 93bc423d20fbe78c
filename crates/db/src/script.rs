//! The statements of one transaction, collected before any is run.
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement is a round trip
//! to that thread, and with one request in flight each trip wakes an idle thread: the disclosure
//! log's seven statements cost more than its fsync. A `Script` lets SQLite run a whole
//! transaction in one call (anonymous `?` parameters number on across the statements of one SQL
//! text); PostgreSQL, whose protocol takes one statement per query, runs them one by one.

use sqlx::{AnyConnection, AssertSqlSafe, Executor, any::AnyArguments, query::Query};

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
    pub async fn run(self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if self.statements.is_empty() {
            return Ok(());
        }
        if conn.backend_name() == "SQLite" {
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
}

impl Script {
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
