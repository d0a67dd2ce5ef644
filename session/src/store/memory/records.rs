//! One shard's records, packed: every record lives in an arena of 64 KiB pages, and the
//! hash index holds only each record's 4-byte location. An idle session then costs its
//! payload, a 36-byte header and about 5 to 10 bytes of index, where a map of boxed
//! payloads costs three times its payload (a map slot of 48 bytes, kept half empty after
//! growth, and an allocation with its own header and rounding).
//!
//! Record layout: `id (16) | version (8) | expires ms (8) | len (4) | data`, integers
//! little-endian, never across pages; a record larger than 64 KiB gets a page of its own.
//! A location is `page << 16 | offset`. Replacing a record by one of the same length
//! writes in place; otherwise the new record is appended and the old one counted as dead,
//! like the unused ends of pages. Dead bytes are reclaimed by compaction once they are half
//! the arena. Past the first few, pages all have one size, so the allocator reuses freed
//! ones exactly, and a growing arena never copies or leaves a freed block behind, as one
//! big buffer would.

use crate::id::StorageKey;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// The largest page. Pages start at `MIN_PAGE` and grow with the arena, so that a shard
/// of a few sessions holds a kilobyte, not 64.
const PAGE: usize = 64 * 1024;
const MIN_PAGE: usize = 1024;
const MAX_PAGES: usize = 1 << 16;

const ID: usize = 0;
const VERSION: usize = 16;
const EXPIRES: usize = 24;
const LEN: usize = 32;
const DATA: usize = 36;

/// Arenas smaller than this are never compacted: too little to win back.
const MIN_COMPACT_BYTES: usize = 4 * PAGE;

/// More records than a shard's 65,536 pages hold.
#[derive(Debug, thiserror::Error)]
#[error("a memory store shard holds at most 4 GiB; this record does not fit")]
pub(super) struct ShardFull;

/// A live or expired record, read from the arena.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record<'a> {
    pub(super) version: u64,
    pub(super) expires_ms: u64,
    pub(super) data: &'a [u8],
}

#[derive(Default)]
struct Arena {
    pages: Vec<Box<[u8]>>,
    /// The pages' bytes, used or not.
    bytes: usize,
    /// Unused bytes at the end of the last page.
    free: usize,
    /// Bytes of replaced or removed records, and unused page ends.
    dead: usize,
}

impl Arena {
    /// The bytes from the record at `at` to the end of its page.
    fn at(&self, at: u32) -> &[u8] {
        &self.pages[(at >> 16) as usize][(at & 0xFFFF) as usize..]
    }

    fn at_mut(&mut self, at: u32) -> &mut [u8] {
        &mut self.pages[(at >> 16) as usize][(at & 0xFFFF) as usize..]
    }

    fn id(&self, at: u32) -> &[u8] {
        &self.at(at)[ID..VERSION]
    }

    fn u64(&self, at: u32, field: usize) -> u64 {
        u64::from_le_bytes(self.at(at)[field..field + 8].try_into().expect("8 bytes"))
    }

    fn len(&self, at: u32) -> usize {
        u32::from_le_bytes(self.at(at)[LEN..DATA].try_into().expect("4 bytes")) as usize
    }

    /// The bytes the record at `at` takes.
    fn size(&self, at: u32) -> usize {
        DATA + self.len(at)
    }

    fn record(&self, at: u32) -> Record<'_> {
        let len = self.len(at);
        Record {
            version: self.u64(at, VERSION),
            expires_ms: self.u64(at, EXPIRES),
            data: &self.at(at)[DATA..DATA + len],
        }
    }

    /// Room for `size` bytes: its location.
    fn allocate(&mut self, size: usize) -> Result<u32, ShardFull> {
        if size > self.free && self.pages.len() >= MAX_PAGES {
            return Err(ShardFull);
        }
        let page = self.pages.len();
        if size > PAGE {
            self.dead += self.free;
            self.free = 0;
            self.bytes += size;
            self.pages.push(vec![0; size].into_boxed_slice());
            return Ok((page as u32) << 16);
        }
        if size > self.free {
            let page_size = (self.bytes / 4).clamp(MIN_PAGE, PAGE).max(size);
            self.dead += self.free;
            self.free = page_size;
            self.bytes += page_size;
            self.pages.push(vec![0; page_size].into_boxed_slice());
        }
        let last = self.pages.last().expect("a page was just ensured");
        let (page, offset) = (self.pages.len() - 1, last.len() - self.free);
        self.free -= size;
        Ok(((page as u32) << 16) | offset as u32)
    }

    /// Appends a record: its location.
    fn push(
        &mut self,
        id: &[u8],
        version: u64,
        expires_ms: u64,
        data: &[u8],
    ) -> Result<u32, ShardFull> {
        let len = u32::try_from(data.len()).map_err(|_| ShardFull)?;
        let at = self.allocate(DATA + data.len())?;
        let record = self.at_mut(at);
        record[ID..VERSION].copy_from_slice(id);
        record[VERSION..EXPIRES].copy_from_slice(&version.to_le_bytes());
        record[EXPIRES..LEN].copy_from_slice(&expires_ms.to_le_bytes());
        record[LEN..DATA].copy_from_slice(&len.to_le_bytes());
        record[DATA..DATA + data.len()].copy_from_slice(data);
        Ok(at)
    }
}

#[derive(Default)]
pub(super) struct Records {
    index: HashTable<u32>,
    arena: Arena,
    /// Keys are SHA-256 digests: foldhash, not SipHash (a fifth of its instructions), and
    /// seeded, as revocation keys hash owner names that users may pick.
    hasher: foldhash::fast::RandomState,
}

/// Counts only: the arena holds every session's data, which must not reach a log.
impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("sessions", &self.index.len())
            .field("arena_bytes", &self.arena.bytes)
            .field("dead_bytes", &self.arena.dead)
            .finish()
    }
}

impl Records {
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    fn find(&self, id: &StorageKey) -> Option<u32> {
        let id = id.as_bytes();
        self.index
            .find(self.hasher.hash_one(id), |&at| self.arena.id(at) == id)
            .copied()
    }

    pub(super) fn get(&self, id: &StorageKey) -> Option<Record<'_>> {
        self.find(id).map(|at| self.arena.record(at))
    }

    /// Sets the expiry of `id`'s record; false if there is none.
    pub(super) fn set_expires(&mut self, id: &StorageKey, expires_ms: u64) -> bool {
        let Some(at) = self.find(id) else {
            return false;
        };
        self.arena.at_mut(at)[EXPIRES..LEN].copy_from_slice(&expires_ms.to_le_bytes());
        true
    }

    /// Inserts or replaces `id`'s record.
    pub(super) fn put(
        &mut self,
        id: &StorageKey,
        version: u64,
        expires_ms: u64,
        data: &[u8],
    ) -> Result<(), ShardFull> {
        let id = id.as_bytes();
        let hash = self.hasher.hash_one(id);
        let arena = &self.arena;
        if let Ok(existing) = self.index.find_entry(hash, |&at| arena.id(at) == id) {
            let at = *existing.get();
            if self.arena.len(at) == data.len() {
                let record = self.arena.at_mut(at);
                record[VERSION..EXPIRES].copy_from_slice(&version.to_le_bytes());
                record[EXPIRES..LEN].copy_from_slice(&expires_ms.to_le_bytes());
                record[DATA..DATA + data.len()].copy_from_slice(data);
                return Ok(());
            }
            existing.remove();
            self.arena.dead += self.arena.size(at);
        }
        self.compact_if_worth_it();
        let at = self.arena.push(id, version, expires_ms, data)?;
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.index
            .insert_unique(hash, at, |&at| hasher.hash_one(arena.id(at)));
        Ok(())
    }

    /// Removes `id`'s record, returning its expiry if there was one.
    pub(super) fn remove(&mut self, id: &StorageKey) -> Option<u64> {
        let id = id.as_bytes();
        let arena = &self.arena;
        let entry = self
            .index
            .find_entry(self.hasher.hash_one(id), |&at| arena.id(at) == id)
            .ok()?;
        let (at, _) = entry.remove();
        self.arena.dead += self.arena.size(at);
        Some(self.arena.u64(at, EXPIRES))
    }

    /// Up to `limit` records live at `now_ms` whose ids sort after `after`, in id order.
    pub(super) fn live_after(
        &self,
        after: Option<&StorageKey>,
        now_ms: u64,
        limit: usize,
    ) -> Vec<(StorageKey, Record<'_>)> {
        let after: &[u8] = after.map_or(&[], |after| after.as_bytes());
        let live = |&at: &u32| self.arena.u64(at, EXPIRES) > now_ms && self.arena.id(at) > after;
        let mut found: Vec<(&[u8], u32)> = (self.index.iter().filter(|at| live(at)))
            .map(|&at| (self.arena.id(at), at))
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(b.0));
        found.truncate(limit);
        found
            .into_iter()
            .map(|(id, at)| {
                let id = id.try_into().expect("ids are 16 bytes");
                (StorageKey::from_bytes(id), self.arena.record(at))
            })
            .collect()
    }

    /// Drops every record that expired by `now_ms`; returns how many.
    pub(super) fn remove_expired(&mut self, now_ms: u64) -> usize {
        let before = self.index.len();
        let arena = &mut self.arena;
        self.index.retain(|&mut at| {
            let live = arena.u64(at, EXPIRES) > now_ms;
            if !live {
                arena.dead += arena.size(at);
            }
            live
        });
        if self.index.capacity() > 4 * self.index.len().max(16) {
            let (arena, hasher) = (&self.arena, &self.hasher);
            self.index
                .shrink_to_fit(|&at| hasher.hash_one(arena.id(at)));
        }
        self.compact_if_worth_it();
        before - self.index.len()
    }

    /// Copies the live records into fresh pages once dead bytes are half the arena: each
    /// byte is then moved at most once per byte written, and memory stays within about
    /// twice what is live.
    fn compact_if_worth_it(&mut self) {
        let bytes = self.arena.bytes;
        if bytes < MIN_COMPACT_BYTES || self.arena.dead * 2 < bytes {
            return;
        }
        let mut packed = Arena::default();
        for at in self.index.iter_mut() {
            let size = self.arena.size(*at);
            let to = packed
                .allocate(size)
                .expect("fewer pages than the arena it came from");
            packed.at_mut(to)[..size].copy_from_slice(&self.arena.at(*at)[..size]);
            *at = to;
        }
        self.arena = packed;
    }

    #[cfg(test)]
    fn arena_len(&self) -> usize {
        self.arena.bytes - self.arena.free
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Clone, Debug)]
    enum Op {
        Put(u8, u64, Vec<u8>),
        Touch(u8, u64),
        Remove(u8),
        Expire(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), 0..100u64, proptest::collection::vec(any::<u8>(), 0..3000))
                .prop_map(|(id, expires, data)| Op::Put(id, expires, data)),
            1 => (any::<u8>(), 0..100u64).prop_map(|(id, expires)| Op::Touch(id, expires)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (0..100u64).prop_map(Op::Expire),
        ]
    }

    fn id(n: u8) -> StorageKey {
        StorageKey::from_bytes([n; 16])
    }

    proptest! {
        /// Any sequence of changes leaves exactly what a plain map would hold, through
        /// in-place writes, appends and compactions.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec(op(), 1..400)) {
            let mut records = Records::default();
            let mut model: HashMap<u8, (u64, u64, Vec<u8>)> = HashMap::new();
            for (version, op) in ops.into_iter().enumerate() {
                let version = version as u64;
                match op {
                    Op::Put(n, expires, data) => {
                        records.put(&id(n), version, expires, &data).unwrap();
                        let added = DATA + data.len();
                        model.insert(n, (version, expires, data));
                        // Dead bytes never pass what is live (once past the compaction
                        // floor), but for the record just added and the last page's end.
                        let live: usize = model.values().map(|r| DATA + r.2.len()).sum();
                        prop_assert!(
                            records.arena_len()
                                <= (2 * live).max(MIN_COMPACT_BYTES) + added + PAGE
                        );
                    }
                    Op::Touch(n, expires) => {
                        let model_has = model.get_mut(&n).map(|r| r.1 = expires).is_some();
                        prop_assert_eq!(records.set_expires(&id(n), expires), model_has);
                    }
                    Op::Remove(n) => {
                        let expected = model.remove(&n).map(|r| r.1);
                        prop_assert_eq!(records.remove(&id(n)), expected);
                    }
                    Op::Expire(now) => {
                        let before = model.len();
                        model.retain(|_, r| r.1 > now);
                        prop_assert_eq!(records.remove_expired(now), before - model.len());
                    }
                }
                prop_assert_eq!(records.len(), model.len());
            }
            for n in 0..=u8::MAX {
                let expected = model.get(&n).map(|(version, expires_ms, data)| Record {
                    version: *version,
                    expires_ms: *expires_ms,
                    data,
                });
                prop_assert_eq!(records.get(&id(n)), expected);
            }
        }
    }

    #[test]
    fn debug_shows_counts_not_data() {
        let mut records = Records::default();
        records.put(&id(1), 1, 10, b"secret-token").unwrap();
        let debug = format!("{records:?}");
        assert!(debug.contains("sessions: 1"), "{debug}");
        assert!(!debug.contains("115, 101, 99"), "{debug}"); // "sec" as bytes
    }

    #[test]
    fn same_length_replacements_write_in_place() {
        let mut records = Records::default();
        records.put(&id(1), 1, 10, b"abc").unwrap();
        let len = records.arena_len();
        records.put(&id(1), 2, 20, b"xyz").unwrap();
        assert_eq!(records.arena_len(), len);
        let expected = Record {
            version: 2,
            expires_ms: 20,
            data: b"xyz",
        };
        assert_eq!(records.get(&id(1)), Some(expected));
    }
}
