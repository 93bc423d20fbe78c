//! The casbin policies, loaded from the plain-text files in `policy/`.
//!
//! Two questions, two models:
//! - [`access`]: may this identity perform this action in this scope? Asked
//!   once per call.
//! - [`disclosure`]: what is the highest tier this enquiry may see of this
//!   item? Asked for every item of every check.
//!
//! Both are decided by casbin the first time a question is asked and
//! remembered for the life of the loaded policy.
//!
//! A third, [`notifications`], is plain configuration: which disclosures the
//! owning agency is told about, per category.
//!
//! The sixth file, `agencies.csv`, is the registry of agencies and categories
//! (`mash_domain::registry`): loading a policy puts it in force, and a reload
//! that changes it is refused, because agencies change only on restart.
//!
//! A [`Policy`] also carries its version: a content hash of all six files,
//! written into every disclosure-log entry.

pub mod access;
pub mod disclosure;
mod live;
pub mod notifications;

use std::path::{Path, PathBuf};

use casbin::CoreApi;
use sha2::{Digest, Sha256};

pub use access::{Action, Role};
pub use disclosure::{Context, Decision};
pub use live::LivePolicy;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {reason}")]
    Read { path: String, reason: std::io::Error },
    #[error("policy {path} does not load: {message}")]
    Casbin { path: String, message: String },
    #[error("policy fails validation: {0}")]
    Invalid(String),
    #[error(transparent)]
    Registry(#[from] mash_domain::registry::RegistryError),
}

/// The six policy files, by convention side by side in one directory.
#[derive(Clone, Debug)]
pub struct PolicyFiles {
    pub agencies: PathBuf,
    pub access_model: PathBuf,
    pub access_policy: PathBuf,
    pub disclosure_model: PathBuf,
    pub disclosure_policy: PathBuf,
    pub notifications: PathBuf,
}

impl PolicyFiles {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            agencies: dir.join("agencies.csv"),
            access_model: dir.join("access_model.conf"),
            access_policy: dir.join("access_policy.csv"),
            disclosure_model: dir.join("disclosure_model.conf"),
            disclosure_policy: dir.join("disclosure_policy.csv"),
            notifications: dir.join("notifications.csv"),
        }
    }

    /// `sha256:` and the hash of the six files' contents, in a fixed order.
    pub fn version(&self) -> Result<String, PolicyError> {
        Ok(self.read()?.version())
    }

    /// The six files' contents, each read once.
    fn read(&self) -> Result<PolicyTexts, PolicyError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|reason| PolicyError::Read { path: path.display().to_string(), reason })
        };
        Ok(PolicyTexts {
            agencies: read(&self.agencies)?,
            access_model: read(&self.access_model)?,
            access_policy: read(&self.access_policy)?,
            disclosure_model: read(&self.disclosure_model)?,
            disclosure_policy: read(&self.disclosure_policy)?,
            notifications: read(&self.notifications)?,
        })
    }
}

/// What the six files said at one reading. A policy is built from these
/// texts and its version is their hash, so the version in a log entry names
/// exactly the rules that decided it, even if a file changes meanwhile.
struct PolicyTexts {
    agencies: String,
    access_model: String,
    access_policy: String,
    disclosure_model: String,
    disclosure_policy: String,
    notifications: String,
}

impl PolicyTexts {
    fn version(&self) -> String {
        let mut hasher = Sha256::new();
        for text in [
            &self.agencies,
            &self.access_model,
            &self.access_policy,
            &self.disclosure_model,
            &self.disclosure_policy,
            &self.notifications,
        ] {
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }
}

/// A loaded policy: the access and disclosure enforcers, the notification
/// settings, and the version.
#[derive(Debug)]
pub struct Policy {
    pub access: access::AccessPolicy,
    pub disclosure: disclosure::DisclosurePolicy,
    pub notifications: notifications::Notifications,
    version: String,
}

impl Policy {
    pub async fn load(files: &PolicyFiles) -> Result<Self, PolicyError> {
        let texts = files.read()?;
        let version = texts.version();
        mash_domain::registry::install(&texts.agencies)?;
        let access = access::AccessPolicy::load(
            Source::new(&files.access_model, &texts.access_model),
            Source::new(&files.access_policy, &texts.access_policy),
        )
        .await?;
        let disclosure = disclosure::DisclosurePolicy::load(
            Source::new(&files.disclosure_model, &texts.disclosure_model),
            Source::new(&files.disclosure_policy, &texts.disclosure_policy),
        )
        .await?;
        let notifications =
            notifications::Notifications::load(Source::new(&files.notifications, &texts.notifications))?;
        let policy = Self { access, disclosure, notifications, version };
        // Validation walks thousands of contexts through casbin (about half a
        // second); files with the same content hash validate the same way, so
        // a process (the tests start many brokers) does it once per version.
        static VALIDATED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
            std::sync::LazyLock::new(Default::default);
        let validated = |v: &String| VALIDATED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(v);
        if !validated(&policy.version) {
            policy.validate()?;
            VALIDATED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(policy.version.clone());
        }
        tracing::info!(version = %policy.version, "policy loaded");
        Ok(policy)
    }

    /// The rules no policy may break, whatever its files say, each asked of
    /// casbin for every context it covers, at the lowest tier (a deny there
    /// denies every tier; an allow there is all "known to exist" needs):
    /// - restricted categories are never disclosed automatically. (The broker
    ///   also holds them in code; this keeps the files honest, so that what
    ///   an IG officer reads is what happens.)
    /// - at levels 2 and 3, on a statutory basis, every other item about the
    ///   child is at least known to exist: otherwise the researcher would read
    ///   the agency as "not known" and could be falsely reassured about a
    ///   child at risk.
    fn validate(&self) -> Result<(), PolicyError> {
        use mash_domain::{Category, LawfulBasis, Level, Relation, Sensitivity, Tier};
        let allowed = |context: &Context| {
            self.disclosure
                .allows(context, Tier::Existence)
                .map_err(|e| PolicyError::Invalid(format!("cannot evaluate {context}: {e}")))
        };
        for category in Category::all() {
            let restricted = category.sensitivity() == Sensitivity::Restricted;
            for context in disclosure::contexts_for(category) {
                if restricted && allowed(&context)? {
                    return Err(PolicyError::Invalid(format!(
                        "restricted category {category} would be disclosed to a {context}"
                    )));
                }
                let at_risk = context.level != Level::EarlyHelp
                    && context.basis != LawfulBasis::Consent
                    && context.relation == Relation::Child
                    && context.sensitivity == category.sensitivity();
                if !restricted && at_risk && !allowed(&context)? {
                    return Err(PolicyError::Invalid(format!(
                        "{category} would be refused outright to a {context}, which the researcher would read as not known"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn version(&self) -> &str {
        &self.version
    }
}

/// A policy file's text as read, with its path for messages.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl<'a> Source<'a> {
    fn new(path: &'a Path, text: &'a str) -> Self {
        Self { path, text }
    }
}

async fn enforcer(model: Source<'_>, policy: Source<'_>) -> Result<casbin::Enforcer, PolicyError> {
    let err = |path: &Path, e: casbin::Error| PolicyError::Casbin {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let built = casbin::DefaultModel::from_str(model.text).await.map_err(|e| err(model.path, e))?;
    let adapter = casbin::StringAdapter::new(policy.text);
    casbin::Enforcer::new(built, adapter).await.map_err(|e| err(policy.path, e))
}
