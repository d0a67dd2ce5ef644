//! What the hub tells live sessions, and its bytes on the wire between instances.
//!
//! `version (1) | instance (8) | kind (1) | ...`: an ending names the session's storage key,
//! an owner's revocation the owner's revocation key (a hash: no user id goes on the wire)
//! and the session it kept, a move to a new id the old key and the new id sealed under a key
//! only the old id gives (`SessionId::seal_successor`):
//! nothing on the wire opens a session.
//!
//! The same seal as a retired id's record (`crate::request`'s `retired.rs`), from
//! `id/successor.rs`.

use crate::id::StorageKey;

const VERSION: u8 = 1;

/// Why a live session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// Its own request ended it: a logout (`delete()`, `invalidate()`).
    Deleted,
    /// Someone else ended it: revoked by fingerprint, "log out everywhere" or "log out
    /// other devices", a credential change, a session limit.
    Revoked,
    /// It outlived its idle timeout or absolute lifetime.
    Expired,
}

impl EndReason {
    /// The reason as a lowercase word: `deleted`, `revoked`, `expired`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    const fn code(self) -> u8 {
        match self {
            Self::Deleted => 0,
            Self::Revoked => 1,
            Self::Expired => 2,
        }
    }

    const fn of_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Deleted),
            1 => Some(Self::Revoked),
            2 => Some(Self::Expired),
            _ => None,
        }
    }
}

/// A change live sessions hear of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The session stored under `key` ended.
    Ended { key: StorageKey, reason: EndReason },
    /// Every session of the owner whose revocation key is `owner` ended, but the one
    /// stored under `except`.
    OwnerRevoked {
        owner: StorageKey,
        except: Option<StorageKey>,
    },
    /// The session stored under `from` moved to a new id, sealed in `successor`.
    Rotated {
        from: StorageKey,
        successor: Vec<u8>,
    },
}

impl Notice {
    /// What it is about, as the other instances listen for it: the session's storage key,
    /// or the owner's revocation key.
    pub(crate) const fn topic(&self) -> &StorageKey {
        match self {
            Self::Ended { key, .. } => key,
            Self::OwnerRevoked { owner, .. } => owner,
            Self::Rotated { from, .. } => from,
        }
    }

    /// The notice as sent by the instance `instance`.
    pub(crate) fn encode(&self, instance: [u8; 8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(64);
        bytes.push(VERSION);
        bytes.extend_from_slice(&instance);
        match self {
            Self::Ended { key, reason } => {
                bytes.push(0);
                bytes.push(reason.code());
                bytes.extend_from_slice(key.as_bytes());
            }
            Self::OwnerRevoked { owner, except } => {
                bytes.push(1);
                bytes.extend_from_slice(owner.as_bytes());
                if let Some(except) = except {
                    bytes.extend_from_slice(except.as_bytes());
                }
            }
            Self::Rotated { from, successor } => {
                bytes.push(2);
                bytes.extend_from_slice(from.as_bytes());
                bytes.extend_from_slice(successor);
            }
        }
        bytes
    }

    /// The sender and the notice, unless `bytes` is not one (another version, garbage).
    pub(crate) fn decode(bytes: &[u8]) -> Option<([u8; 8], Self)> {
        let (&version, rest) = bytes.split_first()?;
        if version != VERSION || rest.len() < 9 {
            return None;
        }
        let (instance, rest) = rest.split_at(8);
        let (&kind, rest) = rest.split_first()?;
        let key = |bytes: &[u8]| -> Option<StorageKey> {
            Some(StorageKey::from_bytes(bytes.try_into().ok()?))
        };
        let notice = match kind {
            0 => {
                let (&reason, key_bytes) = rest.split_first()?;
                Self::Ended {
                    key: key(key_bytes)?,
                    reason: EndReason::of_code(reason)?,
                }
            }
            1 => {
                let (owner, except) = rest.split_at_checked(StorageKey::LEN)?;
                Self::OwnerRevoked {
                    owner: key(owner)?,
                    except: match except {
                        [] => None,
                        except => Some(key(except)?),
                    },
                }
            }
            2 => {
                let (from, successor) = rest.split_at_checked(StorageKey::LEN)?;
                if successor.is_empty() {
                    return None;
                }
                Self::Rotated {
                    from: key(from)?,
                    successor: successor.to_vec(),
                }
            }
            _ => return None,
        };
        Some((instance.try_into().ok()?, notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_survive_the_wire_and_garbage_is_refused() {
        let instance = [7; 8];
        for notice in [
            Notice::Ended {
                key: StorageKey::random(),
                reason: EndReason::Expired,
            },
            Notice::OwnerRevoked {
                owner: StorageKey::random(),
                except: None,
            },
            Notice::OwnerRevoked {
                owner: StorageKey::random(),
                except: Some(StorageKey::random()),
            },
            Notice::Rotated {
                from: StorageKey::random(),
                successor: vec![1; 64],
            },
        ] {
            let bytes = notice.encode(instance);
            assert_eq!(Notice::decode(&bytes), Some((instance, notice)));
            for cut in 0..26 {
                assert_eq!(Notice::decode(&bytes[..cut]), None, "cut at {cut}");
            }
        }
        assert_eq!(Notice::decode(b"\x02garbage and more garbage"), None);
        assert_eq!(Notice::decode(&[1; 40]), None, "reason 1, but key too long");
    }
}
