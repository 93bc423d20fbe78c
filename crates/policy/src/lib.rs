//! The casbin policies, loaded from the plain-text files in `policy/`.
//!
//! Two questions, two models:
//! - [`access`]: may this identity perform this action in this scope? Asked
//!   once per call, so casbin enforces it live.
//! - [`disclosure`]: what is the highest tier this role may see of an item of
//!   this category in an enquiry of this level? Asked for every item of every
//!   check, so the whole (role, level, category) space, which is small and
//!   closed, is compiled into a table when the policy loads.
//!
//! A [`Policy`] also carries its version: a content hash of all four files,
//! written into every disclosure-log entry.

pub mod access;
pub mod disclosure;
mod live;

use std::path::{Path, PathBuf};

use casbin::CoreApi;
use sha2::{Digest, Sha256};

pub use access::{Action, Role};
pub use disclosure::Decision;
pub use live::LivePolicy;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("policy {path} does not load: {message}")]
    Casbin { path: String, message: String },
    #[error("policy fails validation: {0}")]
    Invalid(String),
}

/// The four policy files, by convention side by side in one directory.
#[derive(Clone, Debug)]
pub struct PolicyFiles {
    pub access_model: PathBuf,
    pub access_policy: PathBuf,
    pub disclosure_model: PathBuf,
    pub disclosure_policy: PathBuf,
}

impl PolicyFiles {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            access_model: dir.join("access_model.conf"),
            access_policy: dir.join("access_policy.csv"),
            disclosure_model: dir.join("disclosure_model.conf"),
            disclosure_policy: dir.join("disclosure_policy.csv"),
        }
    }

    fn all(&self) -> [&Path; 4] {
        [&self.access_model, &self.access_policy, &self.disclosure_model, &self.disclosure_policy]
    }

    /// `sha256:` and the hash of the four files' contents, in a fixed order.
    pub fn version(&self) -> Result<String, PolicyError> {
        let mut hasher = Sha256::new();
        for path in self.all() {
            let bytes =
                std::fs::read(path).map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(&bytes);
        }
        Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
    }
}

/// A loaded policy: the access enforcer, the compiled disclosure table and the version.
#[derive(Debug)]
pub struct Policy {
    pub access: access::AccessPolicy,
    pub disclosure: disclosure::DisclosureTable,
    version: String,
}

impl Policy {
    pub async fn load(files: &PolicyFiles) -> Result<Self, PolicyError> {
        let version = files.version()?;
        let access = access::AccessPolicy::load(&files.access_model, &files.access_policy).await?;
        let disclosure =
            disclosure::DisclosureTable::compile(&files.disclosure_model, &files.disclosure_policy).await?;
        let policy = Self { access, disclosure, version };
        policy.validate()?;
        tracing::info!(version = %policy.version, "policy loaded");
        Ok(policy)
    }

    /// The rules no policy may break, whatever its files say:
    /// - restricted categories are never disclosed automatically, for any
    ///   role, at any level;
    /// - every other category is at least known to exist, so that a refusal
    ///   never reaches a researcher as "not known to the agency", which could
    ///   falsely reassure them about a child.
    fn validate(&self) -> Result<(), PolicyError> {
        use mash_domain::{Category, Level, Sensitivity, Tier};
        for category in Category::all() {
            let restricted = category.sensitivity() == Sensitivity::Restricted;
            for role in Role::ALL {
                for level in Level::ALL.iter().copied() {
                    let tier = self.disclosure.decide(role, level, category).tier;
                    let context = format!("to a {} at level {}", role.as_str(), level.as_str());
                    if restricted && tier != Tier::None {
                        return Err(PolicyError::Invalid(format!(
                            "restricted category {category} would be disclosed at {tier} {context}"
                        )));
                    }
                    if !restricted && tier == Tier::None {
                        return Err(PolicyError::Invalid(format!(
                            "{category} would be refused outright {context}, which the researcher would read as not known"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn version(&self) -> &str {
        &self.version
    }
}

async fn enforcer(model: &Path, policy: &Path) -> Result<casbin::Enforcer, PolicyError> {
    let err = |e: casbin::Error| PolicyError::Casbin { path: policy.display().to_string(), message: e.to_string() };
    for path in [model, policy] {
        if !path.exists() {
            return Err(PolicyError::Read {
                path: path.display().to_string(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
    }
    let model = casbin::DefaultModel::from_file(model).await.map_err(err)?;
    let adapter = casbin::FileAdapter::new(policy.to_path_buf());
    casbin::Enforcer::new(model, adapter).await.map_err(err)
}
