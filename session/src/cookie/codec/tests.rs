//! The cookie codec's tests: round trips, bindings, every forgery, the length limit.

use super::*;
use std::time::SystemTime;

const ID: SessionId = SessionId::from_bytes([9; 16]);

fn key(byte: u8) -> Key {
    Key::from_secret(&[byte; 64]).unwrap()
}

fn record() -> Record {
    let mut record = Record::new(SystemTime::now());
    record.apply([("v.note", &[7; 256][..])]);
    record
}

fn codecs(keys: &[Key]) -> [CookieCodec; 2] {
    [CookieCodec::sealed(keys), CookieCodec::signed(keys)]
}

#[test]
fn round_trips_and_binds_the_name_and_the_deadline() {
    let record = record();
    for codec in codecs(&[key(1)]) {
        let value = codec.seal("s", &ID, &record, 2_000, Some(3_000));
        let opened = codec.open("s", &value, 1_000).expect("opens");
        assert_eq!(opened.record, record);
        assert_eq!((opened.idle_deadline_ms, opened.old_key), (2_000, false));
        assert!(
            codec.open("other", &value, 1_000).is_none(),
            "{codec:?}: moved to another name"
        );
        assert!(
            codec.open("s", &value, 2_000).is_none(),
            "{codec:?}: past the idle deadline"
        );
        let value = codec.seal("s", &ID, &record, 9_000, Some(3_000));
        assert!(
            codec.open("s", &value, 3_000).is_none(),
            "{codec:?}: past the absolute deadline"
        );
    }
}

#[test]
fn the_session_id_round_trips_and_cookies_without_one_still_open() {
    let record = record();
    for codec in codecs(&[key(1)]) {
        let value = codec.seal("s", &ID, &record, 2_000, None);
        assert_eq!(codec.open("s", &value, 1_000).expect("opens").id, Some(ID));
    }
    // A version 1 cookie, signed before sessions had ids.
    let codec = CookieCodec::signed(&[key(1)]);
    let raw = unnamed(&codec, 0, FORMAT_VERSION_NO_ID, "s", &record);
    let opened = codec.open("s", &URL_SAFE_NO_PAD.encode(&raw), 1_000);
    let opened = opened.expect("a version 1 cookie opens");
    assert_eq!((opened.record, opened.id), (record, None));
    let mut raw = raw;
    raw[0] = 4;
    assert!(
        codec
            .open("s", &URL_SAFE_NO_PAD.encode(&raw), 1_000)
            .is_none()
    );
}

/// A cookie of a format that names no key (version 1 without the id, 2 with it), made by
/// `codec`'s key at `index` as this crate made them before.
fn unnamed(codec: &CookieCodec, index: usize, version: u8, name: &str, record: &Record) -> Vec<u8> {
    let context = codec.context(version, None, name);
    let mut raw = vec![version];
    let payload_at = match codec {
        CookieCodec::Sealed(_) => 1 + NONCE_LEN,
        CookieCodec::Signed(_) => 1,
    };
    raw.resize(payload_at, 7);
    raw.extend_from_slice(&2_000u64.to_le_bytes());
    raw.extend_from_slice(&u64::MAX.to_le_bytes());
    if version == FORMAT_VERSION_NO_KEY_ID {
        raw.extend_from_slice(ID.as_bytes());
    }
    record.encode_into(&mut raw);
    match codec {
        CookieCodec::Sealed(ciphers) => {
            let tag = ciphers[index]
                .1
                .seal(&[7; NONCE_LEN], &context, &mut raw[payload_at..]);
            raw.extend_from_slice(&tag);
        }
        CookieCodec::Signed(macs) => {
            let mut mac = macs[index].1.clone();
            mac.update(&context);
            mac.update(&raw[1..]);
            raw.extend_from_slice(&mac.finalize().into_bytes());
        }
    }
    raw
}

#[test]
fn cookies_that_name_no_key_open_under_any_and_are_reissued() {
    for codec in codecs(&[key(2), key(1)]) {
        for index in [0, 1] {
            let raw = unnamed(&codec, index, FORMAT_VERSION_NO_KEY_ID, "s", &record());
            let opened = codec.open("s", &URL_SAFE_NO_PAD.encode(&raw), 1_000);
            let opened = opened.unwrap_or_else(|| panic!("{codec:?}: a version 2 cookie opens"));
            assert_eq!((opened.id, opened.old_key), (Some(ID), true));
        }
    }
}

#[test]
fn a_cookie_opens_under_the_key_it_names_only() {
    for (one, two, both) in [
        (
            CookieCodec::sealed(&[key(1)]),
            CookieCodec::sealed(&[key(2)]),
            CookieCodec::sealed(&[key(2), key(1)]),
        ),
        (
            CookieCodec::signed(&[key(1)]),
            CookieCodec::signed(&[key(2)]),
            CookieCodec::signed(&[key(2), key(1)]),
        ),
    ] {
        // Made by key 1 but naming key 2, in what it authenticates too: a codec trying
        // each key in turn would open it under key 1.
        let misnaming = match one.clone() {
            CookieCodec::Sealed(mut keys) => {
                keys[0].0 = key(2).id();
                CookieCodec::Sealed(keys)
            }
            CookieCodec::Signed(mut keys) => {
                keys[0].0 = key(2).id();
                CookieCodec::Signed(keys)
            }
        };
        let misnamed = misnaming.seal("s", &ID, &record(), u64::MAX - 1, None);
        assert!(misnaming.open("s", &misnamed, 0).is_some());
        assert!(both.open("s", &misnamed, 0).is_none(), "{both:?}");
        // A key this process does not hold: as forged.
        let value = two.seal("s", &ID, &record(), u64::MAX - 1, None);
        assert!(one.open("s", &value, 0).is_none(), "{one:?}");
        assert!(both.open("s", &value, 0).is_some());
    }
}

#[test]
fn genuine_cookies_open_up_to_the_length_limit_and_not_past_it() {
    for codec in codecs(&[key(1)]) {
        let sealed = |len: usize| {
            let mut record = Record::new(SystemTime::now());
            record.apply([("v.pad", &vec![7; len][..])]);
            (codec.seal("s", &ID, &record, u64::MAX - 1, None), record)
        };
        let at_limit = (5_000..7_000)
            .find(|&len| sealed(len).0.len() == MAX_VALUE_LEN)
            .expect("a record that seals to the limit");
        let (value, record) = sealed(at_limit);
        let opened = codec.open("s", &value, 0).expect("at the limit: opens");
        assert_eq!(opened.record, record);
        let (value, _) = sealed(at_limit + 1);
        assert!(value.len() > MAX_VALUE_LEN);
        assert!(
            codec.open("s", &value, 0).is_none(),
            "{codec:?}: a genuine cookie past the limit"
        );
    }
}

#[test]
fn debug_shows_no_key() {
    for codec in codecs(&[key(1), key(2)]) {
        let shown = format!("{codec:?}");
        assert!(shown.contains("2 keys, REDACTED"), "{shown}");
    }
}

#[test]
fn every_single_byte_change_truncation_and_extension_is_rejected() {
    for codec in codecs(&[key(1)]) {
        let value = codec.seal("s", &ID, &record(), u64::MAX - 1, None);
        let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for index in 0..raw.len() {
            let mut changed = raw.clone();
            changed[index] ^= 0x01;
            assert!(
                codec
                    .open("s", &URL_SAFE_NO_PAD.encode(&changed), 0)
                    .is_none(),
                "byte {index}"
            );
        }
        for len in 0..raw.len() {
            assert!(
                codec
                    .open("s", &URL_SAFE_NO_PAD.encode(&raw[..len]), 0)
                    .is_none(),
                "truncated to {len}"
            );
        }
        let mut longer = raw.clone();
        longer.push(0);
        assert!(
            codec
                .open("s", &URL_SAFE_NO_PAD.encode(&longer), 0)
                .is_none()
        );
        assert!(codec.open("s", "not base64!", 0).is_none());
        assert!(codec.open("s", &"A".repeat(MAX_VALUE_LEN + 4), 0).is_none());
    }
}

#[test]
fn seals_differ_each_time_and_hide_the_record() {
    let codec = CookieCodec::sealed(&[key(1)]);
    let mut record = Record::new(SystemTime::now());
    record.apply([("v.secret", &b"hunter2"[..])]);
    let (a, b) = (
        codec.seal("s", &ID, &record, 10, None),
        codec.seal("s", &ID, &record, 10, None),
    );
    assert_ne!(a, b, "a fresh nonce per seal");
    let raw = URL_SAFE_NO_PAD.decode(&a).unwrap();
    assert!(!raw.windows(7).any(|w| w == b"hunter2"));
    let signed = URL_SAFE_NO_PAD
        .decode(CookieCodec::signed(&[key(1)]).seal("s", &ID, &record, 10, None))
        .unwrap();
    assert!(
        signed.windows(7).any(|w| w == b"hunter2"),
        "signed cookies are readable"
    );
}

#[test]
fn sealing_and_signing_use_different_keys() {
    let value = CookieCodec::signed(&[key(1)]).seal("s", &ID, &record(), u64::MAX - 1, None);
    assert!(
        CookieCodec::sealed(&[key(1)])
            .open("s", &value, 0)
            .is_none()
    );
}

#[test]
fn previous_keys_open_and_are_flagged_removed_keys_do_not() {
    for (old, rotated, dropped) in [
        (
            CookieCodec::sealed(&[key(1)]),
            CookieCodec::sealed(&[key(2), key(1)]),
            CookieCodec::sealed(&[key(2)]),
        ),
        (
            CookieCodec::signed(&[key(1)]),
            CookieCodec::signed(&[key(2), key(1)]),
            CookieCodec::signed(&[key(2)]),
        ),
    ] {
        let value = old.seal("s", &ID, &record(), u64::MAX - 1, None);
        assert!(
            rotated
                .open("s", &value, 0)
                .expect("old key accepted")
                .old_key
        );
        let resealed = rotated.seal("s", &ID, &record(), u64::MAX - 1, None);
        assert!(!rotated.open("s", &resealed, 0).unwrap().old_key);
        assert!(dropped.open("s", &resealed, 0).is_some());
        assert!(
            dropped.open("s", &value, 0).is_none(),
            "a removed key's cookies die"
        );
    }
}
