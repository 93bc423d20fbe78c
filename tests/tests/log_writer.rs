//! The disclosure log's storage on both databases: one bad append in a group fails only its own
//! caller (issue 22, item 1); the database refuses to change or remove entries and checkpoints
//! (issue 23).

use mash_disclosure_log::{Caller, CheckpointPolicy, Companions, DisclosureLog, EntryBuilder, NewEntry, Outcome};
use mash_domain::Tier;
use mash_e2e::{Backend, postgres_url};

/// A log on its own database: a SQLite file, or a fresh PostgreSQL schema.
struct TestLog {
    log: DisclosureLog,
    pool: sqlx::AnyPool,
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

async fn open(backend: Backend) -> anyhow::Result<TestLog> {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir()?;
    let (url, schema) = match backend {
        Backend::Sqlite => (mash_db::sqlite_url(&dir.path().join("broker.db")), None),
        Backend::Postgres => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.subsec_nanos();
            let schema = format!("log_writer_{}_{nanos}", std::process::id());
            let pool = sqlx::AnyPool::connect(&postgres_url()).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await?;
            pool.close().await;
            (format!("{}?options=-c%20search_path%3D{schema}", postgres_url()), Some(schema))
        }
    };
    let keys = dir.path().join("broker.json");
    mash_seal::KeyRing::write_new(&keys, "test-1")?;
    let signing = dir.path().join("signing.json");
    mash_disclosure_log::write_new_signing_key(&signing, "test-signing")?;
    let never = CheckpointPolicy { every_entries: u64::MAX, every: std::time::Duration::from_secs(3600) };
    let log = mash_broker::open_log(&url, &keys, &signing, never).await?;
    let pool = sqlx::AnyPool::connect(&url).await?;
    Ok(TestLog { log, pool, schema, _dir: dir })
}

impl TestLog {
    async fn count(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM disclosure_log").fetch_one(&self.pool).await?;
        Ok(sqlx::Row::try_get(&row, "n")?)
    }

    async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(schema) = self.schema {
            let pool = sqlx::AnyPool::connect(&postgres_url()).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&pool).await?;
            pool.close().await;
        }
        Ok(())
    }
}

fn entry(record: &str) -> NewEntry {
    let caller = Caller { identity: "spiffe://mash.local/user/ian-ig".into(), role: None, organisation: "mash".into() };
    EntryBuilder::new(&caller, "v")
        .record(record, "police/domestic-abuse")
        .expect("plain text")
        .build(Outcome::Refused, Tier::None, "test")
        .into()
}

/// Many good appends and one bad one, all queued before the writer wakes (the futures are
/// polled together on this test's single thread, so they form one group): the bad one fails,
/// every good one is durable, and the chain verifies without it.
async fn one_bad_append_fails_only_its_caller(
    log: &TestLog,
    bad: (Vec<NewEntry>, Vec<Companions>),
) -> anyhow::Result<()> {
    let before = log.count().await?;
    let goods = (0..20).map(|i| log.log.append(vec![entry(&format!("good-{i}")), entry(&format!("good-{i}b"))]));
    let (bad, goods) = tokio::join!(log.log.append_with(bad.0, bad.1), futures::future::join_all(goods));
    assert!(bad.is_err(), "the bad append fails");
    let failed: Vec<String> = goods.iter().filter_map(|r| r.as_ref().err().map(|e| e.to_string())).collect();
    assert!(failed.is_empty(), "{} of 20 good appends failed with the bad one: {failed:?}", failed.len());
    assert_eq!(log.count().await?, before + 40, "every good entry is in the log, the bad one is not");
    let verified = log.log.verify().await?.map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(verified.entries as i64, before + 40);
    Ok(())
}

async fn a_companion_row_that_cannot_be_written(backend: Backend) -> anyhow::Result<()> {
    let log = open(backend).await?;
    let broken =
        || Companions { table: "no_such_table", columns: &["id"], key: "id", rows: vec![vec![mash_db::Arg::Int(1)]] };
    one_bad_append_fails_only_its_caller(&log, (vec![entry("bad")], vec![broken()])).await?;
    // The writer goes on afterwards, in groups again.
    one_bad_append_fails_only_its_caller(&log, (vec![entry("bad")], vec![broken()])).await?;
    log.close().await
}

#[tokio::test]
async fn sqlite_a_bad_append_fails_only_its_caller() -> anyhow::Result<()> {
    a_companion_row_that_cannot_be_written(Backend::Sqlite).await
}

#[tokio::test]
async fn postgres_a_bad_append_fails_only_its_caller() -> anyhow::Result<()> {
    a_companion_row_that_cannot_be_written(Backend::Postgres).await
}

/// PostgreSQL refuses U+0000 in `text`. An entry carrying one (as text from a caller or a feed
/// once could) fails only its own append; concurrent checks' entries are written.
#[tokio::test]
async fn postgres_an_entry_with_a_nul_fails_only_its_caller() -> anyhow::Result<()> {
    let log = open(Backend::Postgres).await?;
    let mut poisoned = entry("fine");
    poisoned.fields.reason = "disclosure log searched: requester=\u{0}".into();
    one_bad_append_fails_only_its_caller(&log, (vec![entry("also-fine"), poisoned], Vec::new())).await?;
    log.close().await
}

/// The database keeps the log and its checkpoints append-only, whoever holds the broker's
/// connection; disclosed content, which the log does not hash, is still purged.
async fn entries_and_checkpoints_cannot_be_changed_or_removed(backend: Backend) -> anyhow::Result<()> {
    let log = open(backend).await?;
    let mut shown = entry("shown");
    shown.shown = Some(b"what was shown".to_vec());
    log.log.append(vec![shown, entry("second")]).await?;
    log.log.checkpointer().checkpoint().await?.ok_or_else(|| anyhow::anyhow!("a checkpoint"))?;
    for statement in [
        "UPDATE disclosure_log SET reason = 'nothing to see' WHERE seq = 1",
        "UPDATE disclosure_log SET seq = 10 WHERE seq = 2",
        "DELETE FROM disclosure_log WHERE seq = 2",
        "DELETE FROM disclosure_log",
        "UPDATE checkpoints SET root = 'ab'",
        "DELETE FROM checkpoints",
    ] {
        let refused = sqlx::query(statement).execute(&log.pool).await;
        assert!(refused.is_err(), "{backend:?} allowed: {statement}");
    }
    if backend == Backend::Postgres {
        for statement in ["TRUNCATE disclosure_log", "TRUNCATE checkpoints"] {
            assert!(sqlx::query(statement).execute(&log.pool).await.is_err(), "allowed: {statement}");
        }
    }
    assert_eq!(log.count().await?, 2);
    assert!(log.log.verify().await?.is_ok(), "the log is as written");
    let future = mash_disclosure_log::timestamp(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    assert_eq!(log.log.purge_content(&future).await?, 1, "content is purged all the same");
    assert_eq!(log.log.shown(1).await?, None);
    log.close().await
}

#[tokio::test]
async fn sqlite_entries_and_checkpoints_cannot_be_changed_or_removed() -> anyhow::Result<()> {
    entries_and_checkpoints_cannot_be_changed_or_removed(Backend::Sqlite).await
}

#[tokio::test]
async fn postgres_entries_and_checkpoints_cannot_be_changed_or_removed() -> anyhow::Result<()> {
    entries_and_checkpoints_cannot_be_changed_or_removed(Backend::Postgres).await
}
