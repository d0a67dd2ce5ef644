//! Flash messages: one message for the next request that reads it, kept in the session's
//! record as a built-in session struct (like its [lifetime](crate::lifetime)), so it is
//! saved, merged with concurrent requests and reset like any field.
//!
//! The message is stored as its postcard bytes with a tag of its Rust type (postcard does
//! not describe its types: the bytes of one would decode as another), and a random nonce: a
//! request that takes it clears it only if the stored message is still the one it read, so
//! that of two requests taking one message, one gets it.
//!
//! The flash feature lives where the layering puts each part: `extract/flash.rs` (the
//! `Flash<M>` extractor), `builtin/flash.rs` (the message, kept in the record) and
//! `request/flash.rs` (setting and taking it, under the request's state lock).

use super::builtin_session_data;
use super::keys::FLASH;
use serde::{Deserialize, Serialize};

/// A message waiting for the next request.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Flashed {
    /// Drawn when the message is set: tells one message from the next.
    pub(crate) nonce: u64,
    /// The message's type ([`type_tag`]).
    pub(crate) type_tag: u64,
    /// The message, encoded with postcard.
    #[serde(with = "serde_bytes")]
    pub(crate) message: Vec<u8>,
}

/// A tag of the type `M`, from its name: the same in every build of one program, which is
/// as long as a message waits (a deploy that renames the type loses the messages set
/// before it).
pub(crate) fn type_tag<M>() -> u64 {
    let hash = crate::crypto::hash::tagged_sha256(
        crate::crypto::Label::FlashType,
        std::any::type_name::<M>().as_bytes(),
    );
    u64::from_le_bytes(hash[..8].try_into().expect("8 of 32 bytes"))
}

/// The session's flash slot.
#[derive(Default)]
pub(crate) struct FlashSlot {
    pub(crate) flashed: Option<Flashed>,
}

builtin_session_data!(FlashSlot { 0: flashed at FLASH });
