//! [`Fingerprint`]: what names a session to its user without opening it.

use super::StorageKey;
use crate::crypto::Label;
use crate::crypto::hash::tagged_sha256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;

/// What names a session to its user and to admin code without opening it: 12 bytes of
/// SHA-256 over a domain tag and the session's [storage key](crate::store::StorageKey),
/// written as 16 base64url characters.
///
/// A fingerprint can be shown to the user (a list of their devices) and sent back (revoke
/// this one). It is not a credential: a cookie holding it, signed or not, opens nothing; the
/// id behind it cannot be worked out from it (that means inverting SHA-256 twice on 128
/// random bits); and it differs from the storage key, so it does not name a store's record
/// either. It stays the same for the life of the session id, and changes with
/// `cycle_id()`.
///
/// ```
/// use typed_sessions::Fingerprint;
/// let text = "AAECAwQFBgcICQoL";
/// let fingerprint: Fingerprint = text.parse().unwrap();
/// assert_eq!(fingerprint.to_string(), text);
/// assert!("not a fingerprint".parse::<Fingerprint>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; Fingerprint::LEN]);

impl Fingerprint {
    /// Length of a fingerprint in bytes.
    pub const LEN: usize = 12;

    /// The fingerprint of the session kept under `key`.
    pub(crate) fn of_storage_key(key: &StorageKey) -> Self {
        let digest = tagged_sha256(Label::Fingerprint, key.as_bytes());
        let mut bytes = [0; Self::LEN];
        bytes.copy_from_slice(&digest[..Self::LEN]);
        Self(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0; 16];
        let written = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut text)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text[..written]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The text was not a fingerprint: 16 base64url characters, as [`Fingerprint`]'s `Display`
/// writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a session fingerprint: send back the 16 base64url characters the session list showed")]
pub struct ParseFingerprintError;

impl std::str::FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    fn from_str(text: &str) -> Result<Self, ParseFingerprintError> {
        let mut bytes = [0; Self::LEN];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(Self::LEN) if text.len() == 16 => Ok(Self(bytes)),
            _ => Err(ParseFingerprintError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;

    #[test]
    fn a_fingerprint_is_neither_the_id_nor_its_storage_key_and_round_trips() {
        let id = SessionId::from_bytes([9; 16]);
        let fingerprint = Fingerprint::of_storage_key(&id.storage_key());
        assert_eq!(fingerprint, Fingerprint::of_storage_key(&id.storage_key()));
        assert_ne!(
            fingerprint,
            Fingerprint::of_storage_key(&StorageKey::from_bytes(*id.as_bytes()))
        );
        let text = fingerprint.to_string();
        assert_eq!(text.len(), 16);
        assert!(!id.storage_key().to_base64().starts_with(&text));
        assert_eq!(text.parse::<Fingerprint>(), Ok(fingerprint));
        assert_eq!(format!("{fingerprint:?}"), format!("Fingerprint({text})"));
        for bad in [
            "",
            "AAECAwQFBgcICQo",
            "AAECAwQFBgcICQoLD",
            "AAECAwQFBgcICQo/",
        ] {
            assert_eq!(
                bad.parse::<Fingerprint>(),
                Err(ParseFingerprintError),
                "{bad}"
            );
        }
    }
}
