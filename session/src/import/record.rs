//! tower-sessions' record, as its stores keep it: MessagePack (`rmp_serde::to_vec`) of
//! `Record { id, data, expiry_date }`, `data` a map of JSON values. Decoded with the same
//! crates, into a mirror of the three fields.

use crate::builtin::keys::IMPORTED;
use crate::record::Record;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::SystemTime;
use time::OffsetDateTime;

/// A session taken over from tower-sessions.
#[derive(Debug)]
pub(crate) struct Imported {
    pub(super) data: Map<String, Value>,
    expiry: OffsetDateTime,
}

/// tower-sessions' `Record`, field for field (`id` is a newtype of `i128`).
#[derive(Deserialize)]
struct TowerRecord {
    #[allow(dead_code)] // Decoded to keep the layout; the cookie named it already.
    id: i128,
    data: Map<String, Value>,
    expiry_date: OffsetDateTime,
}

impl Imported {
    pub(super) fn decode(bytes: &[u8]) -> Option<Self> {
        let record: TowerRecord = rmp_serde::from_slice(bytes).ok()?;
        Some(Self {
            data: record.data,
            expiry: record.expiry_date,
        })
    }

    pub(super) fn is_live(&self) -> bool {
        SystemTime::from(self.expiry) > SystemTime::now()
    }

    /// A new session of this layer holding the data, which its structs read
    /// (`typed/imported.rs`).
    pub(crate) fn into_record(self, now: SystemTime) -> Record {
        let data = serde_json::to_vec(&self.data).expect("JSON values encode");
        Record::new(now).with([(IMPORTED, data.as_slice())])
    }
}
