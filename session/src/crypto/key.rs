//! The application secret and the per-purpose keys derived from it.

use super::Label;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// The application's session secret: at least 64 bytes of key material.
///
/// Every cryptographic key the crate uses is derived from it with HKDF-SHA256 under its own
/// purpose label, so no two uses ever share a key. The secret is zeroized on drop and `Debug`
/// prints `Key(REDACTED)`.
///
/// # Example
/// ```
/// // In production, read this from configuration: `openssl rand -base64 64` makes one.
/// let key = typed_sessions::Key::from_secret(&[7; 64]).unwrap();
/// assert!(typed_sessions::Key::from_secret(b"too short").is_err());
/// # let _ = key;
/// ```
#[derive(Clone)]
pub struct Key {
    secret: Zeroizing<Vec<u8>>,
    /// Made by [`Key::generate`]: a release build's layer refuses it unless told.
    generated: bool,
}

/// Why a secret was refused.
///
/// `Debug` shows the message too, so that `main` returning `Result<_, Box<dyn Error>>`
/// prints what to do rather than only the variant.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKeyError {
    /// The secret has fewer than [`Key::MIN_SECRET_LEN`] bytes.
    #[error("the session secret has {len} bytes; at least {min} are required (`openssl rand -base64 64` makes one)", min = Key::MIN_SECRET_LEN)]
    TooShort {
        /// Bytes given.
        len: usize,
    },
}

impl Key {
    /// The shortest secret accepted, in bytes.
    pub const MIN_SECRET_LEN: usize = 64;

    /// Uses `secret` as key material.
    ///
    /// # Errors
    /// [`InvalidKeyError::TooShort`] when `secret` has fewer than 64 bytes.
    pub fn from_secret(secret: &[u8]) -> Result<Self, InvalidKeyError> {
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(InvalidKeyError::TooShort { len: secret.len() });
        }
        Ok(Self {
            secret: Zeroizing::new(secret.to_vec()),
            generated: false,
        })
    }

    /// A random key. Sessions signed with it die with the process, so use it for tests and
    /// demos only: in a release build, a layer whose key this is refuses to start unless
    /// [`with_random_key_allowed`](crate::SessionLayer::with_random_key_allowed) says so.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness.
    #[must_use]
    pub fn generate() -> Self {
        let mut secret = Zeroizing::new(vec![0; Self::MIN_SECRET_LEN]);
        crate::crypto::random::fill(&mut secret);
        Self {
            secret,
            generated: true,
        }
    }

    /// Whether [`Key::generate`] made this key (rather than [`Key::from_secret`]).
    #[must_use]
    pub const fn is_generated(&self) -> bool {
        self.generated
    }

    /// The key's public name: 32 bits that cookies, tokens and sealed records carry to say
    /// which key made them, so that opening one looks its key up rather than trying each.
    /// A hash of a subkey, the same on every instance given the same secret, and telling
    /// nothing of it.
    ///
    /// ```
    /// use typed_sessions::Key;
    /// let key = Key::from_secret(&[7; 64]).unwrap();
    /// assert_eq!(key.id(), Key::from_secret(&[7; 64]).unwrap().id());
    /// assert_ne!(key.id(), Key::from_secret(&[8; 64]).unwrap().id());
    /// ```
    #[must_use]
    pub fn id(&self) -> u32 {
        let digest = super::hash::sha256(&*self.derive(Label::RecordSeal));
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The 32-byte subkey for `purpose` (HKDF-SHA256, RFC 5869).
    pub(crate) fn derive(&self, purpose: Label) -> Zeroizing<[u8; 32]> {
        let salt = Label::KeyDerivation.as_str().as_bytes();
        let hkdf = Hkdf::<Sha256>::new(Some(salt), &self.secret);
        let mut out = Zeroizing::new([0; 32]);
        hkdf.expand(purpose.as_str().as_bytes(), out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }

    /// HMAC-SHA256 keyed with the subkey for `purpose`.
    pub(crate) fn hmac(&self, purpose: Label) -> Hmac<Sha256> {
        let subkey = self.derive(purpose);
        <Hmac<Sha256> as Mac>::new_from_slice(subkey.as_ref()).expect("HMAC takes any key length")
    }
}

impl fmt::Debug for InvalidKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(f, "TooShort {{ len: {len} }}: {self}"),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_different_keys_and_secrets_matter() {
        let key = Key::from_secret(&[1; 64]).unwrap();
        assert_ne!(
            *key.derive(Label::CookieSeal),
            *key.derive(Label::CookieMac)
        );
        assert_eq!(
            *key.derive(Label::CookieSeal),
            *Key::from_secret(&[1; 64])
                .unwrap()
                .derive(Label::CookieSeal)
        );
        assert_ne!(
            *key.derive(Label::CookieSeal),
            *Key::from_secret(&[2; 64])
                .unwrap()
                .derive(Label::CookieSeal)
        );
    }

    #[test]
    fn short_secrets_are_refused_and_debug_is_redacted() {
        assert!(matches!(
            Key::from_secret(&[0; 63]),
            Err(InvalidKeyError::TooShort { len: 63 })
        ));
        assert_eq!(format!("{:?}", Key::generate()), "Key(REDACTED)");
    }

    #[test]
    fn a_refused_secret_says_what_to_do_even_through_debug() {
        // `main() -> Result<_, Box<dyn Error>>` prints the error with `Debug`.
        let error = Key::from_secret(&[0; 16]).unwrap_err();
        let shown: Box<dyn std::error::Error> = Box::new(error);
        let debug = format!("{shown:?}");
        assert!(debug.contains("TooShort { len: 16 }"), "{debug}");
        assert!(debug.contains("at least 64 are required"), "{debug}");
        assert!(debug.contains("openssl rand -base64 64"), "{debug}");
    }
}
