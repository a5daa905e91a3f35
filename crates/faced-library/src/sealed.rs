//! Secret Keys at rest: sealed with a key file that lives beside the database.
//!
//! The OAuth endpoint only needs a hash of an app's Secret Key, but `bce-auth-v1` signatures
//! are HMACs keyed by the Secret Key itself, so the server must be able to recover it. It is
//! stored sealed: XOR with an HMAC-SHA256 keystream (key = the install's 32-byte
//! `secret.key`, input = a random nonce and a block counter), authenticated by an HMAC tag. A
//! copy of the database alone reveals no secret; the key file is created with mode 0600.

use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::LibraryError;

/// File name of the sealing key inside the library directory.
pub const KEY_FILE_NAME: &str = "secret.key";

const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 32;

/// The install's sealing key.
#[derive(Clone)]
pub(crate) struct SealingKey([u8; 32]);

impl SealingKey {
    /// Reads `dir/secret.key`, creating it (mode 0600) on first use.
    pub(crate) fn load_or_create(dir: &Path) -> Result<Self, LibraryError> {
        let path = dir.join(KEY_FILE_NAME);
        let io = |source| LibraryError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    LibraryError::Corrupt(format!("{} is not 32 bytes", path.display()))
                })?;
                Ok(Self(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(&path, &key).map_err(io)?;
                Ok(Self(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    fn keystream_block(&self, nonce: &[u8], counter: u32) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(b"stream");
        mac.update(nonce);
        mac.update(&counter.to_le_bytes());
        mac.finalize().into_bytes().into()
    }

    fn tag(&self, nonce: &[u8], ciphertext: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(b"tag");
        mac.update(nonce);
        mac.update(ciphertext);
        mac.finalize().into_bytes().into()
    }

    /// nonce ‖ ciphertext ‖ tag.
    pub(crate) fn seal(&self, secret: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self.xor(&nonce, secret.as_bytes());
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        out.extend_from_slice(&self.tag(&nonce, &ciphertext));
        out
    }

    /// The secret, or `None` when the blob was not sealed by this key or was altered.
    pub(crate) fn open(&self, sealed: &[u8]) -> Option<String> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let expected = self.tag(nonce, ciphertext);
        let same = expected
            .iter()
            .zip(tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if !same {
            return None;
        }
        String::from_utf8(self.xor(nonce, ciphertext)).ok()
    }

    fn xor(&self, nonce: &[u8], data: &[u8]) -> Vec<u8> {
        data.chunks(32)
            .enumerate()
            .flat_map(|(i, chunk)| {
                let block = self.keystream_block(nonce, i as u32);
                chunk
                    .iter()
                    .zip(block)
                    .map(|(d, k)| d ^ k)
                    .collect::<Vec<u8>>()
            })
            .collect()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_detects_tampering() {
        let dir = std::env::temp_dir().join(format!("faced-seal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let key = SealingKey::load_or_create(&dir).expect("key");
        let again = SealingKey::load_or_create(&dir).expect("same key");
        let secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
        let sealed = key.seal(secret);
        assert!(!sealed
            .windows(8)
            .any(|w| secret.as_bytes().windows(8).any(|s| s == w)));
        assert_eq!(again.open(&sealed).as_deref(), Some(secret));
        let mut altered = sealed.clone();
        altered[NONCE_LEN] ^= 1;
        assert_eq!(key.open(&altered), None);
        std::fs::remove_dir_all(&dir).ok();
    }
}
