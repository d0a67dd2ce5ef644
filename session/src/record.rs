//! The stored form of a session: each field's postcard bytes under its storage key.
//!
//! Keeping fields apart (instead of one blob for the whole struct) is what lets a deploy add,
//! remove or retype a field without losing the others: unknown keys are kept untouched, and a
//! field that no longer decodes falls back to its default alone.

use crate::Error;
use crate::data::SessionData;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First byte of every encoded record, so the format can evolve.
const FORMAT_VERSION: u8 = 1;

/// A session's fields by storage key (`namespace.field`), and when the session began.
#[doc(hidden)]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Milliseconds since the Unix epoch; the absolute lifetime counts from here.
    created_ms: u64,
    /// `ByteBuf` makes serde see bytes, not a sequence of `u8`: the same postcard bytes
    /// (length, then the bytes), written and read in one copy instead of one call per byte.
    fields: BTreeMap<String, ByteBuf>,
}

/// Why stored bytes are not a record.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptRecord {
    #[error("unknown record format {0}")]
    Format(u8),
    #[error("record is empty")]
    Empty,
    #[error(transparent)]
    Decode(#[from] postcard::Error),
}

impl Record {
    /// An empty record created now.
    pub(crate) fn new(now: SystemTime) -> Self {
        Self {
            created_ms: unix_ms(now),
            fields: BTreeMap::new(),
        }
    }

    pub(crate) fn created(&self) -> SystemTime {
        from_unix_ms(self.created_ms)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&[u8]> {
        self.fields.get(key).map(|bytes| bytes.as_slice())
    }

    pub(crate) fn apply(&mut self, changes: &[(&'static str, Vec<u8>)]) {
        for (key, value) in changes {
            self.fields
                .insert((*key).to_owned(), ByteBuf::from(value.clone()));
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len_bound());
        self.encode_into(&mut out);
        out
    }

    /// At least the encoded length, so one allocation holds it: each varint takes at most
    /// 10 bytes.
    pub(crate) fn encoded_len_bound(&self) -> usize {
        let fields: usize = self
            .fields
            .iter()
            .map(|(key, value)| 20 + key.len() + value.len())
            .sum();
        1 + 10 + 10 + fields
    }

    /// Appends the encoded record to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(FORMAT_VERSION);
        postcard::to_io(self, out).expect("a record of bytes always encodes");
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CorruptRecord> {
        match bytes.split_first() {
            None => Err(CorruptRecord::Empty),
            Some((&FORMAT_VERSION, rest)) => {
                let (record, tail) = postcard::take_from_bytes::<Self>(rest)?;
                if tail.is_empty() {
                    Ok(record)
                } else {
                    Err(CorruptRecord::Decode(
                        postcard::Error::DeserializeBadEncoding,
                    ))
                }
            }
            Some((&other, _)) => Err(CorruptRecord::Format(other)),
        }
    }
}

pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// The field stored under `key`, or `None` (with a warning) when it is absent or no longer
/// decodes as `V`, which happens after a deploy changed the field's type.
#[doc(hidden)]
pub fn decode_field<V: DeserializeOwned>(record: &Record, key: &str) -> Option<V> {
    let bytes = record.get(key)?;
    match postcard::take_from_bytes::<V>(bytes) {
        Ok((value, [])) => Some(value),
        Ok((_, rest)) => {
            tracing::warn!(
                key,
                trailing = rest.len(),
                "stored session field has trailing bytes (its type changed?); using its default"
            );
            None
        }
        Err(error) => {
            tracing::warn!(key, %error, "stored session field does not decode as its current type; using its default");
            None
        }
    }
}

/// A struct's changed fields, encoded, on their way into the record.
#[doc(hidden)]
pub struct Changes<T> {
    pub(crate) entries: Vec<(&'static str, Vec<u8>)>,
    _session: PhantomData<fn() -> T>,
}

impl<T: SessionData> Changes<T> {
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
            _session: PhantomData,
        }
    }

    /// Encodes field number `index` of `T`.
    pub fn put<V: Serialize>(&mut self, index: usize, value: &V) -> Result<(), Error> {
        let key = T::KEYS[index];
        let bytes = postcard::to_allocvec(value).map_err(|source| Error::Encode { key, source })?;
        self.entries.push((key, bytes));
        Ok(())
    }
}

impl<T> std::fmt::Debug for Changes<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<_> = self.entries.iter().map(|(key, _)| key).collect();
        f.debug_struct("Changes").field("keys", &keys).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let mut record = Record::new(SystemTime::now());
        record.apply(&[("V.a", vec![1, 2]), ("V.b", vec![])]);
        let bytes = record.encode();
        assert_eq!(Record::decode(&bytes).unwrap(), record);
        assert!(Record::decode(&[]).is_err());
        assert!(Record::decode(&[9, 1, 2]).is_err());
        assert!(Record::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Record::decode(&longer).is_err());
    }

    #[test]
    fn a_retyped_field_is_none() {
        let mut record = Record::new(SystemTime::now());
        record.apply(&[("V.n", postcard::to_allocvec(&300u64).unwrap())]);
        assert_eq!(decode_field::<u64>(&record, "V.n"), Some(300));
        assert_eq!(decode_field::<String>(&record, "V.n"), None);
        assert_eq!(decode_field::<bool>(&record, "V.n"), None);
        assert_eq!(decode_field::<u64>(&record, "V.missing"), None);
    }
}
