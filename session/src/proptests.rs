//! Properties over arbitrary input: every encoder round-trips any record, and no change to a
//! cookie (sealed, signed, or a signed id) is ever accepted, nor extends its expiry.

use crate::cookie::codec::CookieCodec;
use crate::cookie::signed_id::IdSigner;
use crate::crypto::Key;
use crate::id::SessionId;
use crate::record::Record;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use std::time::{Duration, UNIX_EPOCH};

fn key() -> Key {
    Key::from_secret(&[0x42; 64]).unwrap()
}

prop_compose! {
    fn any_record()(
        created_ms in 0u64..=u64::from(u32::MAX) * 1000,
        fields in proptest::collection::btree_map("[a-z_]{1,8}\\.[a-z_-]{1,12}", proptest::collection::vec(any::<u8>(), 0..300), 0..8),
    ) -> Record {
        let mut record = Record::new(UNIX_EPOCH + Duration::from_millis(created_ms));
        let changes: Vec<(&'static str, Vec<u8>)> = fields
            .into_iter()
            .map(|(key, value)| (&*Box::leak(key.into_boxed_str()), value))
            .collect();
        record.apply(changes.iter().map(|(key, value)| (*key, value.as_slice())));
        record
    }
}

fn codecs() -> [CookieCodec; 2] {
    [CookieCodec::sealed(&[key()]), CookieCodec::signed(&[key()])]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_record_round_trips_through_every_encoder(record in any_record(), deadline in 1u64..u64::MAX - 1) {
        prop_assert_eq!(Record::decode(&record.encode()).unwrap(), record.clone());
        for codec in codecs() {
            let value = codec.seal("id", &SessionId::from_bytes([5; 16]), &record, deadline, None);
            let opened = codec.open("id", &value, deadline - 1).expect("opens before its deadline");
            prop_assert_eq!(&opened.record, &record);
            prop_assert_eq!(opened.idle_deadline_ms, deadline);
        }
    }

    #[test]
    fn any_change_to_a_cookie_is_rejected(
        record in any_record(),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 1..16),
    ) {
        for codec in codecs() {
            let raw = URL_SAFE_NO_PAD.decode(codec.seal("id", &SessionId::from_bytes([5; 16]), &record, u64::MAX - 1, None)).unwrap();
            let mut changed = raw.clone();
            changed[position.index(raw.len())] ^= flip;
            prop_assert!(codec.open("id", &URL_SAFE_NO_PAD.encode(&changed), 0).is_none(), "{:?}: a flipped byte", codec);
            let truncated = &raw[..cut.index(raw.len())];
            prop_assert!(codec.open("id", &URL_SAFE_NO_PAD.encode(truncated), 0).is_none(), "{:?}: truncated", codec);
            let mut extended = raw.clone();
            extended.extend_from_slice(&tail);
            prop_assert!(codec.open("id", &URL_SAFE_NO_PAD.encode(&extended), 0).is_none(), "{:?}: extended", codec);
        }
    }

    #[test]
    fn a_client_can_never_extend_expiry(record in any_record(), deadline in 1u64..1u64 << 50, later in 1u64..1u64 << 50) {
        for (codec, deadline_at) in codecs().into_iter().zip([1 + 24, 1]) {
            let value = codec.seal("id", &SessionId::from_bytes([5; 16]), &record, deadline, None);
            // At or past its deadline, the genuine cookie never opens.
            prop_assert!(codec.open("id", &value, deadline + later - 1).is_none());
            // A client that moves the deadline (in the clear in a signed cookie, under the
            // cipher in a sealed one) gets a cookie that opens at no time at all.
            let mut raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
            let field = &mut raw[deadline_at..deadline_at + 8];
            let moved = u64::from_le_bytes(field.try_into().unwrap()).wrapping_add(later);
            field.copy_from_slice(&moved.to_le_bytes());
            let forged = URL_SAFE_NO_PAD.encode(&raw);
            prop_assert!(codec.open("id", &forged, deadline).is_none(), "{:?}: extended", codec);
            prop_assert!(codec.open("id", &forged, 0).is_none(), "{:?}: changed", codec);
        }
    }

    #[test]
    fn any_change_to_a_signed_id_is_rejected(bytes in any::<[u8; 16]>(), position in 0usize..64, replacement in "[A-Za-z0-9_-]") {
        let signer = IdSigner::new(&[key()]);
        let value = signer.sign("id", &SessionId::from_bytes(bytes));
        let mut changed = value.clone().into_bytes();
        changed[position] = replacement.as_bytes()[0];
        let changed = String::from_utf8(changed).unwrap();
        // Base64url's last character carries 2 padding bits: a change there can decode to the
        // same bytes. Only a value that decodes differently must be rejected.
        let same = URL_SAFE_NO_PAD.decode(&changed).ok() == URL_SAFE_NO_PAD.decode(&value).ok();
        if !same {
            prop_assert!(signer.verify("id", &changed).is_none());
        }
    }
}

/// What a record's bytes meant when records were decoded with serde and postcard: the model
/// the hand-written decoder is held to.
type Model = (
    u64,
    std::collections::BTreeMap<String, serde_bytes::ByteBuf>,
);

fn model_decode(bytes: &[u8]) -> Option<Model> {
    match bytes.split_first()? {
        (1, rest) => match postcard::take_from_bytes::<Model>(rest) {
            Ok((model, [])) => Some(model),
            _ => None,
        },
        _ => None,
    }
}

fn model_encode(model: &Model) -> Vec<u8> {
    [&[1][..], &postcard::to_allocvec(model).unwrap()].concat()
}

prop_compose! {
    /// Record-like bytes, including what this crate never writes: keys out of order or
    /// repeated, longer varints than needed, and one byte changed or the end cut off.
    fn record_like_bytes()(
        created_ms in any::<u64>(),
        fields in proptest::collection::vec(("[a-c]{0,3}", proptest::collection::vec(any::<u8>(), 0..20)), 0..6),
        overlong in any::<bool>(),
        change in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) -> Vec<u8> {
        let fields: Vec<(String, serde_bytes::ByteBuf)> = fields
            .into_iter()
            .map(|(key, value)| (key, serde_bytes::ByteBuf::from(value)))
            .collect();
        // A sequence of pairs encodes as a map does, in the order given.
        let mut bytes = [&[1][..], &postcard::to_allocvec(&(created_ms, &fields)).unwrap()].concat();
        if overlong && bytes.len() > 1 && bytes[1] < 0x80 {
            // `created_ms` in two bytes where one would do: still the same number.
            bytes.splice(1..2, [bytes[1] | 0x80, 0]);
        }
        if let Some((at, byte)) = change {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        bytes
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn records_decode_as_serde_and_postcard_did(bytes in prop_oneof![record_like_bytes(), proptest::collection::vec(any::<u8>(), 0..40)]) {
        let decoded = Record::decode(&bytes).ok();
        let model = model_decode(&bytes);
        prop_assert_eq!(decoded.is_some(), model.is_some(), "{:?}", bytes);
        if let (Some(record), Some(model)) = (decoded, model) {
            prop_assert_eq!(record.encode(), model_encode(&model));
            prop_assert_eq!(record.created(), UNIX_EPOCH + Duration::from_millis(model.0));
            for (key, value) in &model.1 {
                prop_assert_eq!(record.get(key), Some(value.as_slice()));
            }
        }
    }

    #[test]
    fn changes_apply_as_to_a_map(record in any_record(), changes in proptest::collection::vec(("[a-z_]{1,3}\\.[a-z]{1,3}", proptest::collection::vec(any::<u8>(), 0..20)), 0..6)) {
        let mut model = model_decode(&record.encode()).unwrap();
        let changes: Vec<(&'static str, Vec<u8>)> = changes
            .into_iter()
            .map(|(key, value)| (&*Box::leak(key.into_boxed_str()), value))
            .collect();
        let mut changed = record.clone();
        changed.apply(changes.iter().map(|(key, value)| (*key, value.as_slice())));
        for (key, value) in &changes {
            model.1.insert((*key).to_owned(), serde_bytes::ByteBuf::from(value.clone()));
        }
        prop_assert_eq!(changed.encode(), model_encode(&model));
        prop_assert_eq!(Record::decode(&changed.encode()).unwrap(), changed);
    }
}
