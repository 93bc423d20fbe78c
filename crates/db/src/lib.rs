//! One database URL, either backend.
//!
//! Every service stores its data through sqlx's `Any` driver, so the same
//! queries run on an embedded SQLite file (the default) and on PostgreSQL
//! (real deployments). Queries use `$1` placeholders, which both accept.
//! Each service ships two migration directories, one per dialect; this crate
//! picks the right one for the URL and runs it before the service starts.

mod script;

use std::time::Duration;

pub use script::{Arg, Script};

use sqlx::{
    AnyPool, Executor,
    any::AnyPoolOptions,
    migrate::{MigrateError, Migrator},
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("cannot connect to the {backend} database: {reason}")]
    Connect { backend: Backend, reason: sqlx::Error },
    #[error("migrating the {backend} database failed: {reason}")]
    Migrate { backend: Backend, reason: MigrateError },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }
}

/// A service's migrations, one directory per dialect.
#[derive(Debug)]
pub struct Migrations {
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

/// A connected, migrated database.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Connects to `url` and brings its schema up to date.
///
/// SQLite runs in WAL mode with `synchronous = FULL`: a commit that returned
/// has reached the disk, which the disclosure log relies on. Temporary data
/// (statement journals) stays in memory.
pub async fn connect(url: &str, migrations: &Migrations, max_connections: u32) -> Result<Db, DbError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url)?;
    let mut options = AnyPoolOptions::new().max_connections(max_connections).acquire_timeout(Duration::from_secs(10));
    if backend == Backend::Sqlite {
        // No ping before each use: a SQLite connection is a file this process holds open, so it
        // cannot have been dropped by a peer, and each ping was one more round trip to the
        // connection's thread (and a wake-up of it) on the path of every query.
        options = options.test_before_acquire(false).after_connect(|conn, _| {
            Box::pin(async move {
                // `temp_store = MEMORY`: a multi-row INSERT that may fail on a constraint keeps a
                // statement journal; in a temporary FILE each one opened a file and wrote every
                // page it touched (a push's and a check's profiles both showed it).
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY;",
                )
                .await
                .map(|_| ())
            })
        });
    }
    let pool = options.connect(url).await.map_err(|reason| DbError::Connect { backend, reason })?;
    let migrator = match backend {
        Backend::Sqlite => &migrations.sqlite,
        Backend::Postgres => &migrations.postgres,
    };
    migrator.run(&pool).await.map_err(|reason| DbError::Migrate { backend, reason })?;
    tracing::debug!(%backend, "database ready");
    Ok(Db { pool, backend })
}

impl Db {
    /// Placeholders for `count` parameters numbered from `first`: `$first, …`
    /// on PostgreSQL; anonymous `?` on SQLite, bound in order, because SQLite
    /// looks numbered parameters up by name, which costs time linear in their
    /// number for each one (quadratic for a multi-row insert).
    pub fn placeholders(&self, first: usize, count: usize) -> String {
        let one = |n: usize| match self.backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${n}"),
        };
        (first..first + count).map(one).collect::<Vec<_>>().join(", ")
    }

    /// `(…), (…), …`: `rows` rows of `columns` placeholders each, numbered from 1, for a
    /// multi-row INSERT. Written in one buffer: a batch of a few thousand rows made a string per
    /// placeholder and per row, which showed in the profile of a bulk push.
    pub fn value_rows(&self, rows: usize, columns: usize) -> String {
        use std::fmt::Write;
        let mut sql = String::with_capacity(rows * columns * 8);
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..columns {
                if column > 0 {
                    sql.push_str(", ");
                }
                match self.backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => {
                        let _ = write!(sql, "${}", row * columns + column + 1);
                    }
                }
            }
            sql.push(')');
        }
        sql
    }
}

/// The SQLite URL for a database file, created if missing.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}
