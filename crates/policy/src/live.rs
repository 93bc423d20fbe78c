//! A policy that can be replaced while the services run.
//!
//! Every request takes a snapshot (`current`) and decides with it alone. A
//! reload builds the new policy completely, validates it, and only then
//! swaps it in; a policy that fails to load or to validate is rejected, the
//! rejection is logged, and the old policy stays in force.

use std::{
    path::Path,
    sync::{Arc, RwLock},
    time::Duration,
};

use crate::{Policy, PolicyError, PolicyFiles};

#[derive(Debug)]
pub struct LivePolicy {
    files: PolicyFiles,
    current: RwLock<Arc<Policy>>,
}

impl LivePolicy {
    /// Loads the policy in `dir`; it must load and validate.
    pub async fn load(dir: &Path) -> Result<Arc<Self>, PolicyError> {
        let files = PolicyFiles::in_dir(dir);
        let policy = Policy::load(&files).await?;
        mash_telemetry::metrics::metrics().policy_loaded(policy.version());
        Ok(Arc::new(Self { files, current: RwLock::new(Arc::new(policy)) }))
    }

    /// The policy in force now.
    pub fn current(&self) -> Arc<Policy> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Loads the files again. `Ok(Some(version))` if a new policy is now in
    /// force, `Ok(None)` if the files are unchanged, `Err` if the new files
    /// were rejected (and the old policy stays).
    pub async fn reload(&self) -> Result<Option<String>, PolicyError> {
        if self.files.version()? == self.current().version() {
            return Ok(None);
        }
        let policy = match Policy::load(&self.files).await {
            Ok(policy) => policy,
            Err(error) => {
                mash_telemetry::metrics::metrics().policy_reload_failed();
                return Err(error);
            }
        };
        let version = policy.version().to_owned();
        mash_telemetry::metrics::metrics().policy_loaded(&version);
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(policy);
        Ok(Some(version))
    }

    /// Checks the files every `every` and reloads them when they change.
    /// Files once rejected are not loaded, logged or counted again until they
    /// change: a broken file would otherwise be an ERROR line and a failure
    /// every few seconds until someone fixes it.
    pub fn watch(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut rejected: Option<String> = None;
            loop {
                tokio::time::sleep(every).await;
                let on_disk = self.files.version().ok();
                if on_disk.is_some() && on_disk == rejected {
                    continue;
                }
                match self.reload().await {
                    Ok(Some(version)) => {
                        rejected = None;
                        tracing::info!(%version, "new policy in force");
                    }
                    Ok(None) => rejected = None,
                    Err(error) => {
                        rejected = on_disk;
                        tracing::error!(
                            %error,
                            in_force = %self.current().version(),
                            "new policy files rejected; the policy in force is unchanged"
                        );
                    }
                }
            }
        })
    }
}
