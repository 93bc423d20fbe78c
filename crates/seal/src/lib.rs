//! Encryption at rest for one agency's records.
//!
//! A [`KeyRing`] holds the agency's AES-256-GCM keys by key id (the newest
//! seals, all of them open, so keys rotate without re-encrypting at once) and
//! a separate key for blind indexes: keyed HMACs of identifiers, so a feed
//! can find a record by NHS number without storing the number in clear.
//! Callers bind each ciphertext to its row with associated data, so that a
//! ciphertext copied into another row does not open.

use std::{collections::BTreeMap, fmt, fs, path::Path};

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, AeadCore, AeadInPlace, KeyInit, OsRng, Payload, rand_core::RngCore},
};
use hmac::{Hmac, KeyInit as MacKeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("no key with id {0:?} in the key ring")]
    UnknownKey(String),
    #[error("ciphertext failed authentication (wrong key, wrong row, or tampered)")]
    Authentication,
}

/// A sealed value: the id of the key that sealed it, and nonce || ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub blob: Vec<u8>,
}

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The keys of one agency. `Debug` never prints key material.
pub struct KeyRing {
    current: String,
    ciphers: BTreeMap<String, Aes256Gcm>,
    /// The HMAC already keyed with the index key: keying hashes the key's inner and outer pads,
    /// two of the five SHA-256 blocks of a short digest, so each digest starts from a copy.
    index_mac: Hmac<Sha256>,
}

/// The on-disk form of a key ring: hex keys by id, and which one seals.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    current: String,
    keys: BTreeMap<String, String>,
    index_key: String,
}

impl KeyRing {
    /// Reads a key file written by [`KeyRing::write_new`].
    pub fn load(path: &Path) -> Result<Self, SealError> {
        let err = |reason: String| SealError::KeyFile { path: path.display().to_string(), reason };
        let text = fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let file: KeyFile = serde_json::from_str(&text).map_err(|e| err(format!("not a key file: {e}")))?;
        let mut ciphers = BTreeMap::new();
        for (id, hex_key) in &file.keys {
            let raw = decode_key(hex_key).ok_or_else(|| err(format!("key {id:?} is not 32 bytes of hex")))?;
            ciphers.insert(id.clone(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)));
        }
        if !ciphers.contains_key(&file.current) {
            return Err(err(format!("current key {:?} is not in the file", file.current)));
        }
        let index_key = decode_key(&file.index_key).ok_or_else(|| err("index_key is not 32 bytes of hex".into()))?;
        let index_mac = <Hmac<Sha256> as MacKeyInit>::new_from_slice(&index_key).expect("HMAC accepts any key length");
        Ok(Self { current: file.current, ciphers, index_mac })
    }

    /// Writes a fresh key file with one random key (mode 0600), for the
    /// development set-up. Production keys come from the platform's secrets.
    pub fn write_new(path: &Path, key_id: &str) -> Result<(), SealError> {
        let err = |reason: String| SealError::KeyFile { path: path.display().to_string(), reason };
        let mut key = [0u8; 32];
        let mut index_key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        OsRng.fill_bytes(&mut index_key);
        let file = KeyFile {
            current: key_id.to_owned(),
            keys: BTreeMap::from([(key_id.to_owned(), hex::encode(key))]),
            index_key: hex::encode(index_key),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| err(e.to_string()))?;
        write_private(path, text.as_bytes()).map_err(|e| err(e.to_string()))
    }

    /// Encrypts `plaintext` under the current key, bound to `associated`.
    pub fn seal(&self, associated: &[u8], plaintext: &[u8]) -> Sealed {
        let Ok(sealed) = self.seal_with(associated, |buffer| {
            buffer.extend_from_slice(plaintext);
            Ok::<(), std::convert::Infallible>(())
        });
        sealed
    }

    /// Encrypts, under the current key and bound to `associated`, the plaintext that `write`
    /// appends to the buffer it is given. The plaintext is encrypted where it was written, in the
    /// sealed value's own buffer: a feed sealing a million records serialises each straight
    /// into its ciphertext, with no plaintext buffer to allocate and copy.
    pub fn seal_with<E>(
        &self,
        associated: &[u8],
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Sealed, E> {
        self.seal_under(Aes256Gcm::generate_nonce(&mut OsRng).into(), associated, write)
    }

    /// A [`Sealer`] holding random nonces for `count` values, drawn from the operating system at once.
    pub fn sealer(&self, count: usize) -> Sealer<'_> {
        Sealer { ring: self, count: count.max(1), nonces: random_nonces(count.max(1)) }
    }

    fn seal_under<E>(
        &self,
        nonce: [u8; NONCE_LEN],
        associated: &[u8],
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Sealed, E> {
        let cipher = &self.ciphers[&self.current];
        let mut blob = Vec::with_capacity(256);
        blob.extend_from_slice(&nonce);
        write(&mut blob)?;
        blob.reserve_exact(TAG_LEN);
        match cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), associated, &mut blob[NONCE_LEN..]) {
            Ok(tag) => blob.extend_from_slice(&tag),
            // Only a plaintext beyond AES-GCM's 64 GiB fails; never leave it unencrypted.
            Err(_) => blob.truncate(NONCE_LEN),
        }
        Ok(Sealed { key_id: self.current.clone(), blob })
    }

    /// Decrypts a sealed value; fails if it was sealed for other associated data.
    pub fn open(&self, sealed: &Sealed, associated: &[u8]) -> Result<Vec<u8>, SealError> {
        let cipher = self.ciphers.get(&sealed.key_id).ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.blob.len() < NONCE_LEN {
            return Err(SealError::Authentication);
        }
        let (nonce, ciphertext) = sealed.blob.split_at(NONCE_LEN);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: associated })
            .map_err(|_| SealError::Authentication)
    }

    /// A keyed, deterministic digest of an identifier, for equality search.
    pub fn blind_index(&self, value: &str) -> Vec<u8> {
        self.blind_digest(value.as_bytes()).to_vec()
    }

    /// [`KeyRing::blind_index`] of raw bytes, on the stack: a feed computes several for every
    /// record it takes in and keeps only a part of each.
    pub fn blind_digest(&self, value: &[u8]) -> [u8; 32] {
        self.blind_digest_of(&[value])
    }

    /// [`KeyRing::blind_digest`] of several parts, each length-prefixed, so that no
    /// boundary between parts can shift and no part list collides with a single value.
    pub fn blind_digest_of(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.index_mac.clone();
        if let [value] = parts {
            mac.update(value);
        } else {
            for part in parts {
                mac.update(&(part.len() as u64).to_be_bytes());
                mac.update(part);
            }
        }
        mac.finalize().into_bytes().into()
    }
}

/// Seals values one after another, like [`KeyRing::seal_with`], with nonces drawn from the
/// operating system many at a time: one random draw (a system call) per value was a measurable
/// part of pushing a record. The nonces are as random as before, and each is used once.
pub struct Sealer<'a> {
    ring: &'a KeyRing,
    /// Nonces drawn at once, and again when these run out.
    count: usize,
    /// Nonces not used yet, [`NONCE_LEN`] bytes each.
    nonces: Vec<u8>,
}

impl Sealer<'_> {
    /// [`KeyRing::seal_with`], with the next unused nonce.
    pub fn seal_with<E>(
        &mut self,
        associated: &[u8],
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Sealed, E> {
        if self.nonces.is_empty() {
            self.nonces = random_nonces(self.count);
        }
        let mut nonce = [0; NONCE_LEN];
        let rest = self.nonces.len() - NONCE_LEN;
        nonce.copy_from_slice(&self.nonces[rest..]);
        self.nonces.truncate(rest);
        self.ring.seal_under(nonce, associated, write)
    }
}

fn random_nonces(count: usize) -> Vec<u8> {
    let mut nonces = vec![0; count * NONCE_LEN];
    OsRng.fill_bytes(&mut nonces);
    nonces
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current)
            .field("keys", &self.ciphers.len())
            .finish_non_exhaustive()
    }
}

fn decode_key(hex_key: &str) -> Option<[u8; 32]> {
    hex::decode(hex_key).ok()?.try_into().ok()
}

/// Writes a secret (a key file) readable by its owner only, and durably. The
/// mode is given when the file is created, so the secret is never readable by
/// others even briefly, and set again before writing in case the file
/// already existed with a wider mode; the data is fsynced before this
/// returns, so a crash cannot leave a key file empty or half-written.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_key_file_written_over_a_readable_file_becomes_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("police.keys.json");
        fs::write(&path, "left by someone else").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        KeyRing::write_new(&path, "police-2026-12").expect("write");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        assert!(KeyRing::load(&path).is_ok());
    }

    fn ring() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("police.keys.json");
        KeyRing::write_new(&path, "police-2026-11").expect("write");
        let ring = KeyRing::load(&path).expect("load");
        (dir, ring)
    }

    #[test]
    fn seals_and_opens_bound_to_the_row() {
        let (_dir, ring) = ring();
        let sealed = ring.seal(b"record-1", b"secret contents");
        assert_eq!(sealed.key_id, "police-2026-11");
        assert!(!sealed.blob.windows(6).any(|w| w == b"secret"));
        assert_eq!(ring.open(&sealed, b"record-1").expect("opens"), b"secret contents");
        assert!(matches!(ring.open(&sealed, b"record-2"), Err(SealError::Authentication)));
    }

    #[test]
    fn a_plaintext_written_in_place_opens_like_one_sealed_from_a_slice() {
        let (_dir, ring) = ring();
        let sealed: Result<Sealed, SealError> = ring.seal_with(b"record-1", |buffer| {
            buffer.extend_from_slice(b"secret ");
            buffer.extend_from_slice(b"contents");
            Ok(())
        });
        let sealed = sealed.expect("seals");
        assert_eq!(sealed.blob.len(), NONCE_LEN + b"secret contents".len() + TAG_LEN);
        assert!(!sealed.blob.windows(6).any(|w| w == b"secret"));
        assert_eq!(ring.open(&sealed, b"record-1").expect("opens"), b"secret contents");
        assert!(matches!(ring.open(&sealed, b"record-2"), Err(SealError::Authentication)));
        assert_eq!(ring.blind_digest(b"nhs-number:9434765919").to_vec(), ring.blind_index("nhs-number:9434765919"));
    }

    #[test]
    fn a_sealer_uses_each_nonce_once_and_its_values_open() {
        let (_dir, ring) = ring();
        let mut sealer = ring.sealer(2);
        let sealed: Vec<Sealed> = (0..5)
            .map(|i| {
                let sealed: Result<Sealed, SealError> = sealer.seal_with(format!("record-{i}").as_bytes(), |buffer| {
                    buffer.extend_from_slice(b"contents");
                    Ok(())
                });
                sealed.expect("seals")
            })
            .collect();
        let nonces: std::collections::HashSet<&[u8]> = sealed.iter().map(|s| &s.blob[..NONCE_LEN]).collect();
        assert_eq!(nonces.len(), 5);
        for (i, sealed) in sealed.iter().enumerate() {
            assert_eq!(ring.open(sealed, format!("record-{i}").as_bytes()).expect("opens"), b"contents");
        }
    }

    #[test]
    fn tampering_and_unknown_keys_are_detected() {
        let (_dir, ring) = ring();
        let mut sealed = ring.seal(b"r", b"contents");
        let last = sealed.blob.len() - 1;
        sealed.blob[last] ^= 1;
        assert!(matches!(ring.open(&sealed, b"r"), Err(SealError::Authentication)));
        sealed.key_id = "other".into();
        assert!(matches!(ring.open(&sealed, b"r"), Err(SealError::UnknownKey(_))));
    }

    #[test]
    fn blind_indexes_are_keyed_and_deterministic() {
        let (dir, a) = ring();
        let (_dir2, b) = ring();
        assert_eq!(a.blind_index("nhs-number:9434765919"), a.blind_index("nhs-number:9434765919"));
        assert_ne!(a.blind_index("nhs-number:9434765919"), b.blind_index("nhs-number:9434765919"));
        let file: KeyFile =
            serde_json::from_str(&fs::read_to_string(dir.path().join("police.keys.json")).expect("read"))
                .expect("parse");
        assert!(!format!("{a:?}").contains(&file.index_key));
    }
}
