//! The record format's tests: round trips, garbage, canonical encoding, `Debug`.

use super::*;

#[test]
fn varints_are_bounded_and_rewritten_canonical() {
    // `created_ms` as ten bytes: the tenth may hold only the 64th bit.
    let nine = [0xff; 9];
    let top_bit = [&[FORMAT_VERSION][..], &nine, &[0x01, 0x00]].concat();
    assert_eq!(Record::decode(&top_bit).unwrap().created_ms, u64::MAX);
    let overflow = [&[FORMAT_VERSION][..], &nine, &[0x02, 0x00]].concat();
    assert!(Record::decode(&overflow).is_err(), "past 64 bits");
    let endless = [&[FORMAT_VERSION][..], &[0xff; 10], &[0x00, 0x00]].concat();
    assert!(Record::decode(&endless).is_err(), "more than ten bytes");
    // A longer varint than needed (0 in two bytes) decodes, and is rewritten shortest.
    let padded = Record::decode(&[FORMAT_VERSION, 0x80, 0x00, 0x00]).unwrap();
    assert_eq!(padded.as_bytes(), [FORMAT_VERSION, 0x00, 0x00]);
    let shortest = Record::decode(&[FORMAT_VERSION, 0x05, 0x00]).unwrap();
    assert_eq!(shortest.as_bytes(), [FORMAT_VERSION, 0x05, 0x00]);
}

#[test]
fn debug_shows_keys_and_sizes_not_values() {
    let mut record = Record::new(SystemTime::UNIX_EPOCH);
    record.apply([("V.secret", &b"hunter2"[..])]);
    let shown = format!("{record:?}");
    assert_eq!(
        shown,
        r#"Record { created_ms: 0, field_sizes: [("V.secret", 7)] }"#
    );
}

#[test]
fn round_trips_and_rejects_garbage() {
    let mut record = Record::new(SystemTime::now());
    record.apply([("V.a", &[1, 2][..]), ("V.b", &[][..])]);
    let bytes = record.encode();
    assert_eq!(Record::decode(&bytes).unwrap(), record);
    assert_eq!(record.as_bytes(), &bytes[..], "what stores are given");
    assert!(Record::decode(&[]).is_err());
    assert!(Record::decode(&[9, 1, 2]).is_err());
    assert!(Record::decode(&bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Record::decode(&longer).is_err());
}

#[test]
fn get_last_finds_only_the_last_key() {
    let record = Record::default().with([("a.x", &[1][..]), ("~s.r", &[2][..])]);
    assert_eq!(record.get_last("~s.r"), Some(&[2][..]));
    assert_eq!(record.get_last("a.x"), None, "present, but not last");
    assert_eq!(Record::default().get_last("~s.r"), None);
}
