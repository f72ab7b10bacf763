//! The key that seals people's GitLab tokens at rest: `STAGEBOARD_SECRET_KEY` (32 bytes in
//! base64), or generated once into the data directory as `secret.key`, readable by its owner
//! only. Sealing is ChaCha20-Poly1305 with a fresh random nonce per value: a sealed token read
//! from a stolen database says nothing without the key, and a changed byte is refused.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

const KEY_LEN: usize = 32;
pub const KEY_FILE: &str = "secret.key";

/// Seals and opens values with the configured key.
pub struct Sealer {
    key: LessSafeKey,
    /// The same key, for tokens derived from it ([`Sealer::token`]).
    derive: ring::hmac::Key,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

/// A sealed value that does not open: another key, or changed bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a sealed value does not open with this key (STAGEBOARD_SECRET_KEY or secret.key changed, or the data was altered)"
)]
pub struct NotOpened;

impl Sealer {
    /// The configured key, else the data directory's `secret.key`, made on first use.
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> Result<Sealer, String> {
        let bytes = match configured {
            Some(key) => STANDARD
                .decode(key.expose_secret().trim())
                .ok()
                .filter(|k| k.len() == KEY_LEN)
                .ok_or(
                    "STAGEBOARD_SECRET_KEY must be 32 bytes in base64, e.g. the output of `openssl rand -base64 32`.",
                )?,
            None => key_file(&data_dir.join(KEY_FILE))?,
        };
        Ok(Sealer::from_key(&bytes))
    }

    fn from_key(bytes: &[u8]) -> Sealer {
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("the key has CHACHA20_POLY1305's length");
        Sealer {
            key: LessSafeKey::new(key),
            derive: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes),
            random: SystemRandom::new(),
        }
    }

    /// A token for `purpose`, the same wherever the key is (every replica), and telling
    /// nothing of the key: what replicas show each other.
    pub fn token(&self, purpose: &str) -> String {
        let tag = ring::hmac::sign(&self.derive, purpose.as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `value` sealed: the nonce, then the ciphertext and its tag.
    pub fn seal(&self, value: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).expect("the system's random source works");
        let mut sealed = value.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
            .expect("a value short enough to seal");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, NotOpened> {
        if sealed.len() < NONCE_LEN {
            return Err(NotOpened);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| NotOpened)?;
        let mut body = body.to_vec();
        let opened = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut body)
            .map_err(|_| NotOpened)?;
        Ok(opened.to_vec())
    }
}

/// Reads the key file, or makes it (0600) when there is none.
fn key_file(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    match std::fs::read(path) {
        Ok(bytes) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)
                    .map_err(|e| format!("cannot read {shown}: {e}"))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "{shown} can be read by others (mode {:o}); run `chmod 600 {shown}`.",
                        mode & 0o777
                    ));
                }
            }
            STANDARD
                .decode(String::from_utf8_lossy(&bytes).trim())
                .ok()
                .filter(|k| k.len() == KEY_LEN)
                .ok_or(format!(
                    "{shown} is not a key stageboard made (32 bytes in base64); restore it from a backup, or remove it to make a new one (people then sign in again)."
                ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; KEY_LEN];
            SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| "the system's random source failed".to_owned())?;
            // Written aside, then linked into place: another stageboard starting on the same
            // directory either made the key first (and theirs is used) or sees this one whole.
            let mut suffix = [0u8; 8];
            SystemRandom::new()
                .fill(&mut suffix)
                .map_err(|_| "the system's random source failed".to_owned())?;
            let aside = path.with_extension(format!("tmp-{}", u64::from_le_bytes(suffix)));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let written = options.open(&aside).and_then(|mut file| {
                file.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes())?;
                file.sync_all()
            });
            let linked = written.and_then(|()| std::fs::hard_link(&aside, path));
            let _ = std::fs::remove_file(&aside);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return key_file(path),
                Err(e) => {
                    return Err(format!(
                        "cannot create {shown}: {e}. Make the data directory writable, or set STAGEBOARD_SECRET_KEY."
                    ));
                }
            }
            tracing::info!(path = %shown, "made a new secret key for people's GitLab tokens; back it up with the data directory");
            Ok(key.to_vec())
        }
        Err(e) => Err(format!("cannot read {shown}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_unaltered() {
        let sealer = Sealer::from_key(&[7; KEY_LEN]);
        let sealed = sealer.seal(b"glpat-a-person-token");
        assert!(
            !sealed.windows(6).any(|w| w == b"glpat-"),
            "the token is not in the clear"
        );
        assert_eq!(sealer.open(&sealed).unwrap(), b"glpat-a-person-token");
        assert_ne!(sealer.seal(b"same"), sealer.seal(b"same"), "a fresh nonce each time");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open(&altered), Err(NotOpened));
        assert_eq!(Sealer::from_key(&[8; KEY_LEN]).open(&sealed), Err(NotOpened));
        assert_eq!(sealer.open(b"short"), Err(NotOpened));
    }

    #[test]
    fn the_key_is_made_once_readable_by_its_owner_only_and_then_reused() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let first = Sealer::load(None, dir).unwrap();
        let sealed = first.seal(b"token");
        let again = Sealer::load(None, dir).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), b"token", "the same key after a restart");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.join(KEY_FILE);
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(Sealer::load(None, dir).unwrap_err().contains("chmod 600"));
        }
    }

    #[test]
    fn a_configured_key_must_be_32_bytes_of_base64() {
        let dir = std::path::Path::new("/nonexistent");
        let good = SecretString::from(STANDARD.encode([1u8; KEY_LEN]));
        assert!(Sealer::load(Some(&good), dir).is_ok(), "no file is needed");
        for bad in ["short", "not base64 at all!", &STANDARD.encode([1u8; 16])] {
            let error = Sealer::load(Some(&SecretString::from(bad.to_owned())), dir).unwrap_err();
            assert!(error.contains("openssl rand -base64 32"), "{error}");
            assert!(!error.contains(bad), "the key is not echoed");
        }
    }
}
