//! What the micro-benchmarks time on its own: sealing, id signing, the record format.

use crate::cookie::codec::CookieCodec;
use crate::cookie::signed_id::IdSigner;
use crate::crypto::Key;
use crate::id::SessionId;
use crate::time::unix_ms;
use std::time::SystemTime;

pub use crate::record::Record;

/// What a [`CookieBackend::sealed()`](crate::CookieBackend) or
/// [`CookieBackend::signed()`](crate::CookieBackend) does to a record.
#[derive(Debug)]
pub struct CookieSealer(CookieCodec);

impl CookieSealer {
    /// Seals like [`CookieBackend::sealed()`](crate::CookieBackend).
    #[must_use]
    pub fn sealed(key: &Key) -> Self {
        Self(CookieCodec::sealed(std::slice::from_ref(key)))
    }

    /// Signs like [`CookieBackend::signed()`](crate::CookieBackend).
    #[must_use]
    pub fn signed(key: &Key) -> Self {
        Self(CookieCodec::signed(std::slice::from_ref(key)))
    }

    /// The cookie value for `record`, valid for a minute.
    #[must_use]
    pub fn seal(&self, name: &str, record: &Record) -> String {
        let deadline = unix_ms(SystemTime::now()) + 60_000;
        self.0
            .seal(name, &SessionId::random(), record, deadline, None)
    }

    /// The record in `value`, if authentic and live.
    #[must_use]
    pub fn open(&self, name: &str, value: &str) -> Option<Record> {
        let now = unix_ms(SystemTime::now());
        self.0.open(name, value, now).map(|opened| opened.record)
    }
}

/// Signs and verifies session-id cookies like a server-side store's layer.
#[derive(Debug)]
pub struct IdCookie(IdSigner);

impl IdCookie {
    /// A signer for `key`.
    #[must_use]
    pub fn new(key: &Key) -> Self {
        Self(IdSigner::new(std::slice::from_ref(key)))
    }

    /// The cookie value for `id`.
    #[must_use]
    pub fn sign(&self, name: &str, id: [u8; 16]) -> String {
        self.0.sign(name, &SessionId::from_bytes(id))
    }

    /// The id in `value`, if its tag verifies.
    #[must_use]
    pub fn verify(&self, name: &str, value: &str) -> Option<[u8; 16]> {
        self.0
            .verify(name, value)
            .map(|verified| *verified.id.as_bytes())
    }
}

/// The storage key of the session id `id`.
#[must_use]
pub fn storage_key(id: [u8; 16]) -> crate::store::StorageKey {
    SessionId::from_bytes(id).storage_key()
}

/// A fresh session's storage key in `owner`'s shard, as a login makes it.
#[must_use]
pub fn storage_key_of(owner: &crate::Owner) -> crate::store::StorageKey {
    crate::id::SessionId::random_in(owner.shard()).storage_key()
}

/// Decodes an encoded record.
#[must_use]
pub fn decode_record(bytes: &[u8]) -> Option<Record> {
    Record::decode(bytes).ok()
}

/// Encodes a record.
#[must_use]
pub fn encode_record(record: &Record) -> Vec<u8> {
    record.encode()
}

/// A record holding `fields` as already-encoded bytes.
#[must_use]
pub fn record(fields: &[(&'static str, Vec<u8>)]) -> Record {
    let mut record = Record::new(SystemTime::now());
    record.apply(fields.iter().map(|(key, value)| (*key, value.as_slice())));
    record
}
