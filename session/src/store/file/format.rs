//! The session file format: two slots, written in turn.
//!
//! `magic "SES2" | slot capacity (u32 LE) | slot 0 | slot 1`, each slot
//! `sequence (u64) | version (u64) | expires at, Unix ms (u64) | len (u32) | checksum (8) |
//! data (capacity bytes, len of them used)`, integers little-endian; the checksum is the
//! first 8 bytes of SHA-256 over the rest of the slot's header and its data.
//!
//! A save overwrites the slot not in use, in place, and the valid slot with the higher
//! sequence is the record. A write cut short leaves that slot failing its checksum, so the
//! other slot, the previous version, stays the record: old or new, never torn. Writing in
//! place is what makes saves fast: replacing a file by renaming over it costs about 100 µs
//! on ext4, which flushes the new file's data on such a rename, against a few µs for this.
//!
//! Files of the first format (`SES1`: `magic | version | expires at | record`, replaced
//! whole by rename) are still read; their next save rewrites them in this one.

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 4] = b"SES2";
const MAGIC_V1: &[u8; 4] = b"SES1";
const V1_HEADER: usize = 20;
pub(super) const FILE_HEADER: usize = 8;
const SLOT_HEADER: usize = 36;
/// The smallest slot, so that a session that grows a little still fits.
const MIN_CAPACITY: usize = 64;
/// The largest record: its slot, at 1.5 times its size, must fit the header's `u32`.
pub(super) const MAX_RECORD: usize = 1 << 30;

/// Where a file's next save goes, if it can go in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slots {
    capacity: usize,
    /// The slot holding the record.
    current: usize,
    sequence: u64,
}

impl Slots {
    /// Where a record of `len` bytes is written next, and with which sequence: the slot
    /// not in use, or `None` if it does not fit.
    pub(super) fn next(&self, len: usize) -> Option<(u64, u64)> {
        (len <= self.capacity).then(|| {
            let slot = 1 - self.current;
            (
                slot_offset(self.capacity, slot),
                self.sequence.wrapping_add(1),
            )
        })
    }
}

/// A session file's record, and its slots when the file is of this format.
#[derive(Debug)]
pub(super) struct Parsed {
    pub(super) version: u64,
    pub(super) expires_ms: u64,
    pub(super) data: Vec<u8>,
    pub(super) slots: Option<Slots>,
}

fn slot_offset(capacity: usize, slot: usize) -> u64 {
    (FILE_HEADER + slot * (SLOT_HEADER + capacity)) as u64
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn checksum(header: &[u8], data: &[u8]) -> [u8; 8] {
    let digest = Sha256::new()
        .chain_update(header)
        .chain_update(data)
        .finalize();
    digest[..8].try_into().expect("8 bytes")
}

/// A slot's bytes: its header and `data`.
pub(super) fn slot(sequence: u64, version: u64, expires_ms: u64, data: &[u8]) -> Vec<u8> {
    let mut slot = Vec::with_capacity(SLOT_HEADER + data.len());
    slot.extend_from_slice(&sequence.to_le_bytes());
    slot.extend_from_slice(&version.to_le_bytes());
    slot.extend_from_slice(&expires_ms.to_le_bytes());
    let len = u32::try_from(data.len()).expect("a session under 4 GiB");
    slot.extend_from_slice(&len.to_le_bytes());
    let sum = checksum(&slot, data);
    slot.extend_from_slice(&sum);
    slot.extend_from_slice(data);
    slot
}

/// A new file holding `data` in slot 0, with room to grow in place.
pub(super) fn new_file(version: u64, expires_ms: u64, data: &[u8]) -> Vec<u8> {
    let capacity = (data.len() + data.len() / 2).max(MIN_CAPACITY);
    let capacity_field = u32::try_from(capacity).expect("a session under 2 GiB");
    let mut file = Vec::with_capacity(FILE_HEADER + 2 * (SLOT_HEADER + capacity));
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&capacity_field.to_le_bytes());
    file.extend_from_slice(&slot(1, version, expires_ms, data));
    // The unused slot is zeros, which never pass the checksum.
    file.resize(FILE_HEADER + 2 * (SLOT_HEADER + capacity), 0);
    file
}

/// The record in a session file's bytes; `None` if no slot is intact.
pub(super) fn parse(mut bytes: Vec<u8>) -> Option<Parsed> {
    let magic = bytes.get(..4)?;
    if magic == MAGIC_V1 {
        let version = u64_at(bytes.get(..V1_HEADER)?, 4);
        let expires_ms = u64_at(&bytes, 12);
        return Some(Parsed {
            version,
            expires_ms,
            data: bytes.split_off(V1_HEADER),
            slots: None,
        });
    }
    if magic != MAGIC {
        return None;
    }
    let capacity = u32::from_le_bytes(bytes.get(4..FILE_HEADER)?.try_into().ok()?) as usize;
    let slot_at = |slot: usize| -> Option<(u64, usize, usize)> {
        let start = usize::try_from(slot_offset(capacity, slot)).ok()?;
        let header = bytes.get(start..start.checked_add(SLOT_HEADER)?)?;
        let len = u32::from_le_bytes(header[24..28].try_into().ok()?) as usize;
        let data_start = start + SLOT_HEADER;
        let data = bytes.get(data_start..data_start.checked_add(len)?)?;
        (len <= capacity && checksum(&header[..28], data) == header[28..SLOT_HEADER])
            .then(|| (u64_at(header, 0), start, len))
    };
    let (current, (sequence, start, len)) = match (slot_at(0), slot_at(1)) {
        (Some(first), Some(second)) if second.0 > first.0 => (1, second),
        (Some(first), _) => (0, first),
        (None, Some(second)) => (1, second),
        (None, None) => return None,
    };
    Some(Parsed {
        version: u64_at(&bytes, start + 8),
        expires_ms: u64_at(&bytes, start + 16),
        data: bytes[start + SLOT_HEADER..start + SLOT_HEADER + len].to_vec(),
        slots: Some(Slots {
            capacity,
            current,
            sequence,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_slot(file: &mut [u8], at: u64, slot: &[u8]) {
        let at = at as usize;
        file[at..at + slot.len()].copy_from_slice(slot);
    }

    #[test]
    fn saves_alternate_slots_and_a_torn_save_leaves_the_previous_record() {
        let mut file = new_file(7, 100, b"first");
        let parsed = parse(file.clone()).unwrap();
        assert_eq!((parsed.version, parsed.data.as_slice()), (7, &b"first"[..]));
        let slots = parsed.slots.unwrap();

        let (at, sequence) = slots.next(6).unwrap();
        let second = slot(sequence, 8, 200, b"second");
        // Every prefix of the second save (a write cut short) leaves the first record.
        for cut in 0..second.len() {
            let mut torn = file.clone();
            write_slot(&mut torn, at, &second[..cut]);
            let parsed = parse(torn).unwrap();
            assert_eq!((parsed.version, parsed.data.as_slice()), (7, &b"first"[..]));
        }
        write_slot(&mut file, at, &second);
        let parsed = parse(file.clone()).unwrap();
        assert_eq!(
            (parsed.version, parsed.expires_ms, parsed.data.as_slice()),
            (8, 200, &b"second"[..])
        );

        // The third save goes back to the first slot; with both slots intact, the newer
        // (the first, now) is the record.
        let (third_at, third_sequence) = parsed.slots.unwrap().next(5).unwrap();
        assert_eq!(third_at, slot_offset(slots.capacity, 0));
        let mut third = file.clone();
        write_slot(
            &mut third,
            third_at,
            &slot(third_sequence, 9, 300, b"third"),
        );
        let parsed_third = parse(third).unwrap();
        assert_eq!(
            (parsed_third.version, parsed_third.data.as_slice()),
            (9, &b"third"[..]),
            "the newer slot wins, whichever it is"
        );
        assert_eq!(
            parsed.slots.unwrap().next(1000),
            None,
            "too big: rewrite the file"
        );
    }

    #[test]
    fn a_new_file_leaves_room_to_grow_by_half_in_place() {
        let data = vec![3; 1000];
        let file = new_file(1, 2, &data);
        assert_eq!(file.len(), FILE_HEADER + 2 * (SLOT_HEADER + 1500));
        let parsed = parse(file).unwrap();
        assert_eq!(parsed.data, data);
        let slots = parsed.slots.unwrap();
        assert!(
            slots.next(1500).is_some(),
            "half as big again fits in place"
        );
        assert!(slots.next(1501).is_none(), "more is a new file");
    }

    #[test]
    fn garbage_and_truncated_files_are_no_record() {
        let file = new_file(1, 2, b"data");
        for len in 0..FILE_HEADER + SLOT_HEADER + 4 {
            assert!(parse(file[..len].to_vec()).is_none(), "{len} bytes");
        }
        assert!(parse(b"SES2\xff\xff\xff\xff".to_vec()).is_none());
        assert!(parse(b"nonsense".to_vec()).is_none());
        let mut flipped = file.clone();
        flipped[FILE_HEADER + SLOT_HEADER] ^= 1;
        assert!(parse(flipped).is_none());
    }

    #[test]
    fn first_format_files_are_read() {
        let mut v1 = b"SES1".to_vec();
        v1.extend_from_slice(&3u64.to_le_bytes());
        v1.extend_from_slice(&9u64.to_le_bytes());
        v1.extend_from_slice(b"old");
        let parsed = parse(v1).unwrap();
        assert_eq!((parsed.version, parsed.expires_ms), (3, 9));
        assert_eq!((parsed.data.as_slice(), parsed.slots), (&b"old"[..], None));
    }
}
