//! Every cryptographic primitive the crate uses, in one place to audit (as rustls keeps its
//! own under `crypto/`): the application [`Key`] and the subkeys HKDF derives from it
//! (`key.rs`), the CSPRNG (`random.rs`), XChaCha20-Poly1305 (`aead.rs`), tagged SHA-256
//! (`hash.rs`) and the masking of CSRF tokens (`mask.rs`).
//!
//! One domain-label scheme, [`Label`], names every use of a key or a hash: no two uses
//! share a subkey, and no hash made for one purpose can stand for another's.

pub(crate) mod aead;
pub(crate) mod hash;
pub(crate) mod key;
pub(crate) mod mask;
pub(crate) mod random;

pub use key::{InvalidKeyError, Key};

/// What a subkey or a tagged hash is for. Each label is `session/<purpose>/v<n>`: HKDF takes
/// it as its `info`, a tagged hash hashes it with a NUL after it before the data. A label
/// changes only with the format it protects (the version), never in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    /// HKDF's salt, for every subkey.
    KeyDerivation,
    /// The HMAC-SHA256 key of signed id cookies.
    IdCookieMac,
    /// The XChaCha20-Poly1305 key of sealed cookie sessions.
    CookieSeal,
    /// The HMAC-SHA256 key of signed cookie sessions.
    CookieMac,
    /// The shard of an owner's session ids.
    OwnerShard,
    /// The name of the index of an owner's sessions in a store.
    OwnerIndex,
    /// A session's fingerprint, from its storage key.
    Fingerprint,
    /// The key of an owner's revocation time.
    Revocation,
    /// The key of the record a periodically retired id leaves.
    RetiredKey,
    /// The XChaCha20-Poly1305 key, from a retired id, that seals its successor.
    RetiredSeal,
    /// The tag of a flash message's type.
    FlashType,
    /// The HMAC-SHA256 key of the CSRF cookie of a visitor without a session.
    CsrfCookieMac,
    /// That cookie's CSRF secret, from the random value it carries.
    CsrfCookieSecret,
    /// The XChaCha20-Poly1305 key of a key ring's that seals records' headers at rest.
    RecordSeal,
    /// HKDF-Extract's salt for the key of a sealed record's body (from the record's salt
    /// and its session's id).
    RecordBodyKey,
    /// The HMAC-SHA256 key of DBSC bound cookies.
    BoundCookieMac,
    /// What a session's record keeps of a DBSC challenge.
    DbscChallenge,
}

impl Label {
    /// Every label, for the test that they differ.
    #[cfg(test)]
    const ALL: [Self; 17] = [
        Self::KeyDerivation,
        Self::IdCookieMac,
        Self::CookieSeal,
        Self::CookieMac,
        Self::OwnerShard,
        Self::OwnerIndex,
        Self::Fingerprint,
        Self::Revocation,
        Self::RetiredKey,
        Self::RetiredSeal,
        Self::FlashType,
        Self::CsrfCookieMac,
        Self::CsrfCookieSecret,
        Self::RecordSeal,
        Self::RecordBodyKey,
        Self::BoundCookieMac,
        Self::DbscChallenge,
    ];

    /// The label's bytes.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::KeyDerivation => "session/key-derivation/v1",
            Self::IdCookieMac => "session/id-cookie-hmac-sha256/v1",
            Self::CookieSeal => "session/cookie-xchacha20poly1305/v1",
            Self::CookieMac => "session/cookie-hmac-sha256/v1",
            Self::OwnerShard => "session/owner-shard/v1",
            Self::OwnerIndex => "session/owner-index/v1",
            Self::Fingerprint => "session/fingerprint/v1",
            Self::Revocation => "session/revocation/v1",
            Self::RetiredKey => "session/retired-key/v1",
            Self::RetiredSeal => "session/retired-xchacha20poly1305/v1",
            Self::FlashType => "session/flash-type/v1",
            Self::CsrfCookieMac => "session/csrf-cookie-hmac-sha256/v1",
            Self::CsrfCookieSecret => "session/csrf-cookie-secret/v1",
            Self::RecordSeal => "session/record-xchacha20poly1305/v1",
            Self::RecordBodyKey => "session/record-body-key/v1",
            Self::BoundCookieMac => "session/bound-cookie-hmac-sha256/v1",
            Self::DbscChallenge => "session/dbsc-challenge/v1",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Label;

    #[test]
    fn labels_follow_one_scheme_and_differ() {
        let mut seen = std::collections::BTreeSet::new();
        for label in Label::ALL {
            let text = label.as_str();
            let purpose = text
                .strip_prefix("session/")
                .and_then(|rest| rest.rsplit_once("/v"))
                .unwrap_or_else(|| panic!("{text} is not session/<purpose>/v<n>"));
            assert!(
                !purpose.0.is_empty() && purpose.1.parse::<u32>().is_ok(),
                "{text}"
            );
            assert!(!text.contains('\0'), "{text}");
            assert!(seen.insert(text), "{text} twice");
        }
    }
}
