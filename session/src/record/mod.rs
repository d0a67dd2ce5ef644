//! The stored form of a session: each field's postcard bytes under its storage key.
//!
//! Keeping fields apart (instead of one blob for the whole struct) is what lets a deploy add,
//! remove or retype a field without losing the others: unknown keys are kept untouched, and a
//! field that no longer decodes falls back to its default alone.
//!
//! A record is kept as its encoding, with the place of each field in it: decoding checks the
//! bytes and notes where each field is without copying any of them, encoding hands the bytes
//! out as they are, and only a change builds new ones. (The encoding is postcard's for a
//! `(u64, BTreeMap<String, bytes>)` after a format byte; a property test holds the two to
//! the same bytes.)

use crate::time::{from_unix_ms, unix_ms};
use serde::Serialize;
use smallvec::SmallVec;
use std::fmt;
use std::time::SystemTime;

/// First byte of every encoded record, so the format can evolve.
const FORMAT_VERSION: u8 = 1;

/// The built-in key under which a session taken over from tower-sessions keeps that
/// session's data, as JSON: the fields of a struct are read from it until the struct's
/// first save writes them as its own. Declared here, below the typed layer that reads it;
/// `builtin::keys` registers it with the others.
#[cfg(any(test, feature = "tower-sessions-import"))]
pub(crate) const IMPORTED_KEY: &str = "~session.import";

/// The most bytes a record decodes from, and the changes of one commit encode to. Twice
/// this still indexes with `u32`, so a record built from both always fits its spans.
const MAX_LEN: usize = 1 << 30;

/// A session's fields by storage key (`namespace.field`), and when the session began.
#[doc(hidden)]
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Milliseconds since the Unix epoch; the absolute lifetime counts from here.
    created_ms: u64,
    /// The encoding: format byte, `created_ms`, field count, then each key and value with
    /// its length. Always canonical (shortest varints; keys unique, in byte order), so equal
    /// records have equal bytes.
    bytes: Vec<u8>,
    /// Where each field's key and value lie in `bytes`, in key order.
    fields: SmallVec<[Field; 4]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    key: Span,
    value: Span,
}

/// A range of a record's bytes (see [`MAX_LEN`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(self, bytes: &[u8]) -> &[u8] {
        &bytes[self.start as usize..self.end as usize]
    }
}

/// Why stored bytes are not a record.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptRecord {
    #[error("unknown record format {0}")]
    Format(u8),
    #[error("record is empty")]
    Empty,
    #[error("record is malformed: {0}")]
    Malformed(&'static str),
}

impl Record {
    /// An empty record created now.
    pub(crate) fn new(now: SystemTime) -> Self {
        Self::build(unix_ms(now), &[])
    }

    pub(crate) fn created(&self) -> SystemTime {
        from_unix_ms(self.created_ms)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&[u8]> {
        let index = self
            .fields
            .binary_search_by(|field| field.key.of(&self.bytes).cmp(key.as_bytes()))
            .ok()?;
        Some(self.fields[index].value.of(&self.bytes))
    }

    /// The value of `key` if it is the last key: for a key that sorts after every other
    /// one, in one comparison.
    pub(crate) fn get_last(&self, key: &str) -> Option<&[u8]> {
        let last = self.fields.last()?;
        (last.key.of(&self.bytes) == key.as_bytes()).then(|| last.value.of(&self.bytes))
    }

    /// The value of `key`, a built-in key (`~session.*`): those sort after every other key,
    /// so only the record's last fields are looked at, and none when the last is not one.
    pub(crate) fn get_builtin(&self, key: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .rev()
            .map(|field| (field.key.of(&self.bytes), field.value))
            .take_while(|(name, _)| name.first() == Some(&b'~'))
            .find(|(name, _)| *name == key.as_bytes())
            .map(|(_, value)| value.of(&self.bytes))
    }

    /// Sets each key to its value, later changes of one key winning.
    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn apply<'a>(&mut self, changes: impl IntoIterator<Item = (&'a str, &'a [u8])>) {
        *self = self.with(changes);
    }

    /// This record with `changes` applied, later changes of one key winning.
    pub(crate) fn with<'a>(&self, changes: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut merged: Pairs<'_> = self
            .fields
            .iter()
            .map(|field| (field.key.of(&self.bytes), field.value.of(&self.bytes)))
            .collect();
        for (key, value) in changes {
            put_sorted(&mut merged, key.as_bytes(), value);
        }
        Self::build(self.created_ms, &merged)
    }

    /// This record with only the fields whose keys `keep` keeps.
    pub(crate) fn only(&self, keep: impl Fn(&[u8]) -> bool) -> Self {
        let kept: Pairs<'_> = self
            .fields
            .iter()
            .map(|field| (field.key.of(&self.bytes), field.value.of(&self.bytes)))
            .filter(|(key, _)| keep(key))
            .collect();
        Self::build(self.created_ms, &kept)
    }

    /// The encoded record.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn encode(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// Appends the encoded record to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
    }

    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CorruptRecord> {
        Self::decode_vec(bytes.to_vec())
    }

    /// Decodes `bytes`, keeping them as the record's own.
    pub(crate) fn decode_vec(bytes: Vec<u8>) -> Result<Self, CorruptRecord> {
        match bytes.first() {
            None => return Err(CorruptRecord::Empty),
            Some(&FORMAT_VERSION) => {}
            Some(&other) => return Err(CorruptRecord::Format(other)),
        }
        if bytes.len() > MAX_LEN {
            return Err(CorruptRecord::Malformed("over 1 GiB"));
        }
        let mut reader = Reader {
            bytes: &bytes,
            at: 1,
            canonical: true,
        };
        let created_ms = reader.varint()?;
        let count = reader.varint()?;
        let mut fields = SmallVec::<[Field; 4]>::new();
        // Each field takes at least two bytes, so a forged count ends at the end of input.
        for _ in 0..count {
            let key = reader.span()?;
            if std::str::from_utf8(key.of(&bytes)).is_err() {
                return Err(CorruptRecord::Malformed("a key is not UTF-8"));
            }
            let value = reader.span()?;
            if let Some(last) = fields.last()
                && last.key.of(&bytes) >= key.of(&bytes)
            {
                reader.canonical = false;
            }
            fields.push(Field { key, value });
        }
        if reader.at != bytes.len() {
            return Err(CorruptRecord::Malformed("trailing bytes"));
        }
        if reader.canonical {
            return Ok(Self {
                created_ms,
                bytes,
                fields,
            });
        }
        // Not as this crate writes them, though valid: keys out of order or repeated (the
        // last one wins, as in a map), or longer varints. Rewritten canonical.
        let mut pairs = Pairs::new();
        for field in &fields {
            put_sorted(&mut pairs, field.key.of(&bytes), field.value.of(&bytes));
        }
        Ok(Self::build(created_ms, &pairs))
    }

    /// The record of `fields`, which are in key order with no key twice.
    fn build(created_ms: u64, fields: &[(&[u8], &[u8])]) -> Self {
        let len: usize = fields
            .iter()
            .map(|(key, value)| 20 + key.len() + value.len())
            .sum();
        let mut bytes = Vec::with_capacity(1 + 10 + 10 + len);
        bytes.push(FORMAT_VERSION);
        put_varint(&mut bytes, created_ms);
        put_varint(&mut bytes, fields.len() as u64);
        let put = |bytes: &mut Vec<u8>, slice: &[u8]| {
            put_varint(bytes, slice.len() as u64);
            let start = span_offset(bytes.len());
            bytes.extend_from_slice(slice);
            Span {
                start,
                end: span_offset(bytes.len()),
            }
        };
        let fields = fields
            .iter()
            .map(|(key, value)| Field {
                key: put(&mut bytes, key),
                value: put(&mut bytes, value),
            })
            .collect();
        Self {
            created_ms,
            bytes,
            fields,
        }
    }
}

/// Keys and values on their way into a new record, in key order.
type Pairs<'a> = SmallVec<[(&'a [u8], &'a [u8]); 8]>;

/// Sets `key` to `value` in `pairs`, replacing the value a key already has.
fn put_sorted<'a>(pairs: &mut Pairs<'a>, key: &'a [u8], value: &'a [u8]) {
    match pairs.binary_search_by(|(existing, _)| (*existing).cmp(key)) {
        Ok(index) => pairs[index].1 = value,
        Err(index) => pairs.insert(index, (key, value)),
    }
}

fn span_offset(at: usize) -> u32 {
    u32::try_from(at).expect("records and changes stay under MAX_LEN")
}

/// LEB128, as postcard writes integers: 7 bits a byte, low first.
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a record's varints and length-prefixed slices, as postcard does.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Every varint so far was the shortest for its value.
    canonical: bool,
}

impl Reader<'_> {
    fn varint(&mut self) -> Result<u64, CorruptRecord> {
        let mut value = 0u64;
        for index in 0..10 {
            let &byte = self
                .bytes
                .get(self.at)
                .ok_or(CorruptRecord::Malformed("truncated"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                // The tenth byte holds only the 64th bit.
                if index == 9 && byte > 1 {
                    break;
                }
                if index > 0 && byte == 0 {
                    self.canonical = false;
                }
                return Ok(value);
            }
        }
        Err(CorruptRecord::Malformed("bad varint"))
    }

    fn span(&mut self) -> Result<Span, CorruptRecord> {
        let len = self.varint()?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or(CorruptRecord::Malformed("truncated"))?;
        let span = Span {
            start: span_offset(self.at),
            end: span_offset(end),
        };
        self.at = end;
        Ok(span)
    }
}

impl Default for Record {
    fn default() -> Self {
        Self::build(0, &[])
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: keys and sizes only.
        let fields = self.fields.iter().map(|field| {
            (
                String::from_utf8_lossy(field.key.of(&self.bytes)),
                field.value.end - field.value.start,
            )
        });
        f.debug_struct("Record")
            .field("created_ms", &self.created_ms)
            .field("field_sizes", &fields.collect::<Vec<_>>())
            .finish()
    }
}

/// Changed fields, encoded, on their way into a record: every value in one buffer.
#[derive(Default)]
pub(crate) struct FieldChanges {
    bytes: Vec<u8>,
    fields: SmallVec<[(&'static str, Span); 4]>,
}

impl FieldChanges {
    /// Appends `value`, encoded, under `key`.
    pub(crate) fn push<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), postcard::Error> {
        let start = self.bytes.len();
        let encoded = match postcard::to_io(value, &mut self.bytes) {
            Ok(bytes) if bytes.len() > MAX_LEN => Err(postcard::Error::SerializeBufferFull),
            Ok(_) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = encoded {
            self.bytes.truncate(start);
            return Err(error);
        }
        let span = Span {
            start: span_offset(start),
            end: span_offset(self.bytes.len()),
        };
        self.fields.push((key, span));
        Ok(())
    }

    /// Empties it, keeping its buffers.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
    }

    /// The changed keys, in the order they were put.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|&(key, _)| key)
    }

    /// Each changed key and its encoded value, in the order they were put.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .map(|&(key, span)| -> (&str, &[u8]) { (key, span.of(&self.bytes)) })
    }
}

#[cfg(test)]
mod tests;
