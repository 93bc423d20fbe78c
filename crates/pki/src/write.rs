//! Writing the PEM files: certificates world-readable, keys owner-only.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::PkiError;

pub(crate) fn create_dir(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir).map_err(|reason| PkiError::Write { path: dir.to_owned(), reason })
}

pub(crate) fn public(path: &Path, pem: &str) -> Result<(), PkiError> {
    fs::write(path, pem).map_err(|reason| PkiError::Write { path: path.to_owned(), reason })
}

/// Writes a private key readable by its owner only. The mode is set when the
/// file is created, so the key is never readable by others even briefly, and
/// again afterwards in case the file already existed with a wider mode.
pub(crate) fn secret(path: &Path, pem: &str) -> Result<(), PkiError> {
    write_secret(path, pem).map_err(|reason| PkiError::Write { path: path.to_owned(), reason })
}

#[cfg(unix)]
fn write_secret(path: &Path, pem: &str) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_secret(path: &Path, pem: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(path)?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()
}
