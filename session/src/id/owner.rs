//! [`Owner`]: the user a session is bound to, checked once.
//!
//! The owner feature lives where the layering puts each part: `id/owner.rs` (the `Owner`
//! type and its check), `builtin/owner.rs` (the owner, kept in the record),
//! `request/owner.rs` (binding, listing and revoking from a request), `extract/owner.rs`
//! (the same on the extractor) and `accounts/mod.rs`
//! (listing and revoking from anywhere).

use crate::crypto::Label;
use crate::crypto::hash::tagged_sha256;
use std::fmt;

/// The user a session is bound to (a user id), as
/// [`Session::bind_owner`](crate::Session::bind_owner) takes it and
/// [`Accounts`](crate::Accounts) and the [stores](crate::Store) are given it: 1 to 256
/// bytes, without control characters (no NUL, newline or escape, which some databases and
/// every log would take badly). The rule is checked once, when an `Owner` is made.
///
/// Owner ids are not secret (`Debug` shows them), but they are personal data: stores keep
/// them in their owner index.
///
/// ```
/// use typed_sessions::Owner;
/// let ada = Owner::new("user-42")?;
/// assert_eq!(ada.as_str(), "user-42");
/// assert!(Owner::new("").is_err());
/// assert!(Owner::new("ada\0").is_err());
/// assert!(Owner::new("x".repeat(257)).is_err());
/// # Ok::<(), typed_sessions::error::InvalidOwnerError>(())
/// ```
// An `Arc` of a `String`: one pointer, so that an `Option<Owner>` held across a store call
// costs the commit's future 8 bytes, and clones (owner indexes, events) cost no copy.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(std::sync::Arc<String>);

/// An owner that is empty, longer than [`Owner::MAX_LEN`] bytes, or holds a control
/// character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "a session owner is 1 to 256 bytes without control characters: bind a user id, not free text"
)]
pub struct InvalidOwnerError;

impl Owner {
    /// The longest owner, in bytes.
    pub const MAX_LEN: usize = 256;

    /// Checks `owner` and keeps it.
    ///
    /// # Errors
    /// [`InvalidOwnerError`] for an empty owner, one over 256 bytes, or one with a control
    /// character.
    pub fn new(owner: impl Into<String>) -> Result<Self, InvalidOwnerError> {
        let owner = owner.into();
        Self::check(&owner)?;
        Ok(Self(std::sync::Arc::new(owner)))
    }

    /// Whether `owner` may own a session.
    pub(crate) fn check(owner: &str) -> Result<(), InvalidOwnerError> {
        let valid = !owner.is_empty()
            && owner.len() <= Self::MAX_LEN
            && !owner.chars().any(char::is_control);
        if valid {
            Ok(())
        } else {
            Err(InvalidOwnerError)
        }
    }

    /// The owner id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shard of the owner's sessions: two bytes of a hash of it, with which each of
    /// their ids (and storage keys) starts.
    pub(crate) fn shard(&self) -> [u8; 2] {
        let digest = tagged_sha256(Label::OwnerShard, self.0.as_bytes());
        [digest[0], digest[1]]
    }
}

/// The name a store gives the index of `owner`'s sessions: 16 bytes of its tagged SHA-256,
/// in hex, so that the index's key or path does not show the user id.
pub(crate) fn index_name(owner: &str) -> String {
    let digest = tagged_sha256(Label::OwnerIndex, owner.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Debug for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Owner({:?})", self.0)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Owner {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Owner {
    type Err = InvalidOwnerError;

    fn from_str(owner: &str) -> Result<Self, InvalidOwnerError> {
        Self::new(owner)
    }
}

impl TryFrom<&str> for Owner {
    type Error = InvalidOwnerError;

    fn try_from(owner: &str) -> Result<Self, InvalidOwnerError> {
        Self::new(owner)
    }
}

impl TryFrom<String> for Owner {
    type Error = InvalidOwnerError;

    fn try_from(owner: String) -> Result<Self, InvalidOwnerError> {
        Self::new(owner)
    }
}

impl TryFrom<&String> for Owner {
    type Error = InvalidOwnerError;

    fn try_from(owner: &String) -> Result<Self, InvalidOwnerError> {
        Self::new(owner.as_str())
    }
}

/// So that an `Owner` goes where an owner to check goes ([`Session::bind_owner`](crate::Session::bind_owner)).
impl TryFrom<&Owner> for Owner {
    type Error = InvalidOwnerError;

    fn try_from(owner: &Owner) -> Result<Self, InvalidOwnerError> {
        Ok(owner.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_checked_once_made() {
        for bad in ["", "a\0b", "tab\there", "line\n", "\u{1b}[31m", "\u{85}"] {
            assert_eq!(Owner::new(bad), Err(InvalidOwnerError), "{bad:?}");
        }
        assert!(Owner::new("x".repeat(256)).is_ok());
        assert!(Owner::new("x".repeat(257)).is_err());
        assert!(Owner::new("名前 with spaces").is_ok());
        let ada: Owner = "ada".parse().unwrap();
        assert_eq!(ada.shard(), Owner::new("ada").unwrap().shard());
        assert_ne!(ada.shard(), Owner::new("bob").unwrap().shard());
        assert_eq!(format!("{ada:?} {ada}"), r#"Owner("ada") ada"#);
    }
}
