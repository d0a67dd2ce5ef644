//! A session id's successor, sealed for the holders of the id: what a periodically retired
//! id leaves in the store (`request/retired.rs`), and what tells a live session on another
//! instance that its session moved to a new id (`crate::hub`). Sealed under a key only the
//! old id gives (the store keeps a hash of it): neither a store's dump nor the wire opens
//! anything.

use super::SessionId;
use crate::crypto::Label;
use crate::crypto::aead::{NONCE_LEN, TAG_LEN, XChaCha20Poly1305};
use crate::crypto::hash::tagged_sha256;
use zeroize::Zeroizing;

/// `header (8) | nonce (24) | successor id (16) | tag (16)`.
const SEALED_LEN: usize = 8 + NONCE_LEN + SessionId::LEN + TAG_LEN;

impl SessionId {
    /// `successor` sealed for this id's holders, with `header` (a retired id's grace
    /// window) authenticated beside it.
    pub(crate) fn seal_successor(&self, successor: &Self, header: [u8; 8]) -> Vec<u8> {
        let mut sealed = Vec::with_capacity(SEALED_LEN);
        sealed.extend_from_slice(&header);
        let mut nonce = [0; NONCE_LEN];
        crate::crypto::random::fill(&mut nonce);
        sealed.extend_from_slice(&nonce);
        let mut id = *successor.as_bytes();
        let tag = self.successor_key().seal(&nonce, &header, &mut id);
        sealed.extend_from_slice(&id);
        sealed.extend_from_slice(&tag);
        sealed
    }

    /// The header and the successor, if `sealed` is one this id sealed.
    pub(crate) fn open_successor(&self, sealed: &[u8]) -> Option<([u8; 8], Self)> {
        if sealed.len() != SEALED_LEN {
            return None;
        }
        let (header, rest) = sealed.split_at(8);
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (id, tag) = rest.split_at(Self::LEN);
        let mut successor: [u8; Self::LEN] = id.try_into().ok()?;
        self.successor_key().open(
            nonce.try_into().ok()?,
            header,
            &mut successor,
            tag.try_into().ok()?,
        )?;
        Some((header.try_into().ok()?, Self::from_bytes(successor)))
    }

    fn successor_key(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Zeroizing::new(tagged_sha256(
            Label::RetiredSeal,
            self.as_bytes(),
        )))
    }
}
