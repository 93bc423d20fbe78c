//! The end-to-end test harness: a whole system per test, in-process, on
//! ephemeral ports, with a fresh PKI and fresh databases, on SQLite or on
//! PostgreSQL. Tests talk to it only through the generated gRPC clients,
//! presenting the demo principals' certificates.

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;

pub mod samples;
use mash_system::{Databases, System, SystemConfig};

/// Which database every service of a test system uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL database the PostgreSQL suite runs in. It must be
/// reachable: those tests fail, never skip, when it is not.
pub fn postgres_url() -> String {
    std::env::var("MASH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A running test system and the directory it lives in.
pub struct Harness {
    pub system: System,
    pub backend: Backend,
    config: SystemConfig,
    schema_prefix: Option<String>,
    _dir: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The day every test system judges items' ages on.
pub const TODAY: time::Date = time::macros::date!(2026 - 11 - 23);

impl Harness {
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a system after `adjust` has changed its configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut SystemConfig)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config = SystemConfig::new(dir.path());
        // Items' ages are judged on a fixed day, so that expectations and
        // golden files do not change as the calendar moves on.
        config.clock = mash_broker::Clock::Fixed(TODAY);
        let schema_prefix = (backend == Backend::Postgres)
            .then(|| format!("t{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos()));
        if let Some(prefix) = &schema_prefix {
            config.databases = Databases::Postgres { url: postgres_url(), schema_prefix: prefix.clone() };
        }
        adjust(&mut config);
        let system = System::start(config.clone()).await.context("starting the system")?;
        Ok(Self { system, backend, config, schema_prefix, _dir: dir })
    }

    /// Stops every server and starts them again on the same databases and
    /// keys, as after a crash or a deployment (with a fresh PKI: clients
    /// connect again).
    pub async fn restart(self) -> anyhow::Result<Self> {
        let Self { system, backend, config, schema_prefix, _dir } = self;
        system.stop().await;
        let system = System::start(config.clone()).await.context("restarting the system")?;
        Ok(Self { system, backend, config, schema_prefix, _dir })
    }

    /// A pool on one service's own database, for assertions about what is stored.
    pub async fn database(&self, service: &str) -> anyhow::Result<sqlx::AnyPool> {
        let url = self.system.database_urls.iter().find(|(name, _)| name == service).context("no such service")?;
        sqlx::any::install_default_drivers();
        Ok(sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url.1).await?)
    }

    /// The number of rows in a table of a service's database.
    pub async fn count(&self, service: &str, table: &str) -> anyhow::Result<i64> {
        let pool = self.database(service).await?;
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await?;
        let n = sqlx::Row::try_get::<i64, _>(&row, "n")?;
        pool.close().await;
        Ok(n)
    }

    /// Drops the triggers that keep the disclosure log and its checkpoints append-only, as the
    /// database's owner could: what a test of tampering does first.
    pub async fn lift_append_only(&self, pool: &sqlx::AnyPool) -> anyhow::Result<()> {
        let statements: &[&str] = match self.backend {
            Backend::Sqlite => &[
                "DROP TRIGGER disclosure_log_no_update",
                "DROP TRIGGER disclosure_log_no_delete",
                "DROP TRIGGER checkpoints_no_update",
                "DROP TRIGGER checkpoints_no_delete",
            ],
            Backend::Postgres => &[
                "DROP TRIGGER disclosure_log_append_only ON disclosure_log",
                "DROP TRIGGER checkpoints_append_only ON checkpoints",
            ],
        };
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(*statement)).execute(pool).await?;
        }
        Ok(())
    }

    /// Stops every server and drops any PostgreSQL schemas it made.
    pub async fn stop(self) -> anyhow::Result<()> {
        let services: Vec<String> = self.system.database_urls.iter().map(|(name, _)| name.clone()).collect();
        self.system.stop().await;
        if let Some(prefix) = self.schema_prefix {
            let pool = sqlx::AnyPool::connect(&postgres_url()).await?;
            for service in services {
                let sql = format!("DROP SCHEMA IF EXISTS {prefix}_{} CASCADE", service.replace('-', "_"));
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await?;
            }
            pool.close().await;
        }
        Ok(())
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

/// Runs each named scenario once against SQLite and once against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() -> anyhow::Result<()> {
                super::$scenario($crate::Backend::Sqlite).await
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() -> anyhow::Result<()> {
                super::$scenario($crate::Backend::Postgres).await
            })+
        }
    };
}

/// Requests the tests build again and again.
pub mod fixtures {
    use mash_proto::v1::{self as pb, Level, Relation};
    use mash_system::demo::DemoPerson;

    /// The lawful basis that goes with a level: s.47, s.17, or consent for early help.
    pub fn lawful_basis(level: Level) -> &'static str {
        match level {
            Level::Level3ChildProtection => "children-act-1989-s47",
            Level::Level2ChildInNeed => "children-act-1989-s17",
            _ => "consent",
        }
    }

    pub fn subject(person: DemoPerson, relation: Relation) -> pb::EnquirySubject {
        pb::EnquirySubject { subject_id: String::new(), relation: relation.into(), person: Some(person.to_wire()) }
    }

    /// An enquiry about `child` and `household` at `level`, assigned to the
    /// caller: a front-door decision on the level's usual basis; early help
    /// with the family's consent, the others without asking.
    pub fn enquiry(level: Level, subjects: Vec<pb::EnquirySubject>) -> pb::CreateEnquiryRequest {
        let consent =
            if level == Level::Level1EarlyHelp { pb::ConsentState::Given } else { pb::ConsentState::NotSought };
        pb::CreateEnquiryRequest {
            level: level.into(),
            purpose: "front-door-decision".into(),
            lawful_basis: lawful_basis(level).into(),
            consent: consent.into(),
            assigned_researcher: String::new(),
            subjects,
        }
    }

    /// Checks on every subject of an enquiry, at every agency.
    pub fn checks(enquiry_id: &str) -> pb::RequestChecksRequest {
        pb::RequestChecksRequest { enquiry_id: enquiry_id.into(), subject_ids: vec![], agencies: vec![] }
    }

    /// The result for one agency.
    pub fn agency<'a>(results: &'a pb::RequestChecksResponse, agency: &str) -> &'a pb::AgencyResult {
        results.agencies.iter().find(|a| a.agency == agency).unwrap_or_else(|| panic!("no result for {agency}"))
    }

    /// What one agency disclosed about one subject, if anything.
    pub fn about<'a>(result: &'a pb::AgencyResult, subject_id: &str) -> Option<&'a pb::SubjectDisclosure> {
        result.subjects.iter().find(|s| s.subject_id == subject_id)
    }
}

/// The synthetic population's records as agency systems push them.
pub mod synthetic {
    use mash_proto::v1::{self as pb, push_record::Body};
    use mash_synth::{AgencyRecord, Subject};

    /// The person as the agency's record holds them.
    pub fn person(subject: &Subject) -> pb::Person {
        pb::Person {
            given_name: subject.given_name.clone(),
            family_name: subject.family_name.clone(),
            date_of_birth: subject.date_of_birth.to_string(),
            nhs_number: subject.nhs_number.clone().unwrap_or_default(),
            upn: subject.upn.clone().unwrap_or_default(),
            postcode: subject.postcode.clone().unwrap_or_default(),
            sex: subject.sex.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            previous_family_names: Vec::new(),
        }
    }

    /// A health record as health's system pushes it; records of other agencies get no body,
    /// which the feed rejects by name.
    pub fn push_record(record: &AgencyRecord) -> pb::PushRecord {
        let body = match &record.body {
            mash_synth::Body::Health(contact) => Some(Body::HealthContact(pb::HealthContact {
                category: contact.category.into(),
                contact_date: contact.contact_date.to_string(),
                setting: contact.setting.clone(),
                reason: contact.reason.into(),
                clinical_notes: contact.clinical_notes.into(),
            })),
            _ => None,
        };
        pb::PushRecord {
            record_id: record.record_id.clone(),
            version: record.version,
            subject: Some(person(&record.subject)),
            body,
        }
    }
}
