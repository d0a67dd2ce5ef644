//! What the record keeps of a device binding, as a built-in session struct under
//! `~session.device`: the DBSC session's identifier and public key once registered, and
//! the challenges handed out and not answered yet, by their hashes (a signed cookie
//! session's record is readable, and a challenge read there must not be answerable by
//! whoever copied the cookie). Kept in the record, it moves with the
//! session through `cycle_id` and rotation, and ends with it.

use super::proof::PublicKey;
use crate::builtin::builtin_session_data;
use crate::builtin::keys::DEVICE;
use crate::crypto::Label;
use crate::crypto::hash::tagged_sha256;
use crate::record::Record;
use serde::{Deserialize, Serialize};

/// At most so many challenges wait at once: a new one pushes out the oldest.
pub(crate) const MAX_CHALLENGES: usize = 4;

/// A session's device binding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Device {
    /// The DBSC session identifier the browser sends back (`Sec-Secure-Session-Id`), once
    /// registered: random, and never the session's id.
    pub(crate) id: Option<String>,
    /// The session key's public half, once registered.
    pub(crate) key: Option<PublicKey>,
    /// When it was registered (Unix ms): the registration grace counts from it.
    pub(crate) bound_at_ms: u64,
    /// The hashes of the challenges handed out and not answered yet, each with when it
    /// expires (Unix ms).
    pub(crate) challenges: Vec<([u8; 32], u64)>,
}

/// The built-in struct holding [`Device`].
#[derive(Default)]
pub(crate) struct DeviceSlot {
    pub(crate) device: Device,
}

builtin_session_data!(DeviceSlot { 0: device at DEVICE });

impl Device {
    /// The binding in `record` (unbound when it has none, or an unreadable one).
    pub(crate) fn of(record: &Record) -> Self {
        crate::builtin::decode_builtin(record, DEVICE)
    }

    /// The identifier and key, when the session is bound.
    pub(crate) fn bound(&self) -> Option<(&str, &PublicKey)> {
        Some((self.id.as_deref()?, self.key.as_ref()?))
    }

    /// Whether `now_ms` is within `grace_ms` of the registration.
    pub(crate) fn registering(&self, now_ms: u64, grace_ms: u64) -> bool {
        self.bound().is_some() && now_ms < self.bound_at_ms.saturating_add(grace_ms)
    }

    /// Keeps `challenge`, answerable until `expires_ms`, beside the unexpired others at
    /// `now_ms`, at most [`MAX_CHALLENGES`] of them.
    pub(crate) fn offer(&mut self, challenge: &str, expires_ms: u64, now_ms: u64) {
        self.challenges.retain(|(_, expires)| *expires > now_ms);
        if self.challenges.len() >= MAX_CHALLENGES {
            self.challenges.remove(0);
        }
        self.challenges.push((hashed(challenge), expires_ms));
    }

    /// Takes `challenge` out if it waits unexpired at `now_ms`: each answers once.
    pub(crate) fn take(&mut self, challenge: &str, now_ms: u64) -> bool {
        let hash = hashed(challenge);
        let found = self
            .challenges
            .iter()
            .position(|(waiting, expires)| *waiting == hash && *expires > now_ms);
        found.map(|index| self.challenges.remove(index)).is_some()
    }
}

/// What the record keeps of `challenge`.
fn hashed(challenge: &str) -> [u8; 32] {
    tagged_sha256(Label::DbscChallenge, challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_answers_once_before_it_expires_and_few_wait() {
        let mut device = Device::default();
        device.offer("a", 100, 0);
        assert!(!device.take("a", 100), "expired");
        device.offer("b", 200, 0);
        let clear = "a-challenge-in-the-clear";
        device.offer(clear, 200, 0);
        let kept = postcard::to_allocvec(&device).unwrap();
        assert!(
            !kept.windows(clear.len()).any(|w| w == clear.as_bytes()),
            "kept by its hash"
        );
        assert!(device.take(clear, 0));
        assert!(device.take("b", 150));
        assert!(!device.take("b", 150), "used");
        for n in 0..10 {
            device.offer(&format!("c{n}"), 1_000, 0);
        }
        assert_eq!(device.challenges.len(), MAX_CHALLENGES);
        assert!(!device.take("c0", 0), "pushed out");
        assert!(device.take("c9", 0));
    }
}
