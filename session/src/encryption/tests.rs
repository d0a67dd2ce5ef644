use super::*;
use crate::crypto::Key;
use proptest::prelude::*;
use std::time::SystemTime;

fn ring(id: u32, seed: u8) -> KeyRing {
    KeyRing::new(id, &Key::from_secret(&[seed; 64]).unwrap())
}

fn record() -> Record {
    Record::new(SystemTime::now()).with([
        ("app.note", b"a field of the application's".as_slice()),
        (crate::builtin::keys::CSRF, b"the csrf secret".as_slice()),
        (crate::builtin::keys::LABEL, b"phone".as_slice()),
    ])
}

fn sealed(ring: &KeyRing, id: &SessionId, record: &Record) -> Vec<u8> {
    ring.seal(
        Some(id),
        &id.storage_key(),
        record.as_bytes(),
        &crate::builtin::directory(record),
    )
}

#[test]
fn a_record_opens_for_its_own_id_and_key_only() {
    let (ring, record) = (ring(7, 1), record());
    let (id, other) = (SessionId::random_in([1, 2]), SessionId::random_in([1, 2]));
    let data = sealed(&ring, &id, &record);
    assert!(is_sealed(&data));
    let opened = ring.open(&id, &id.storage_key(), &data).unwrap();
    assert_eq!(opened, record.as_bytes());
    // Another id, under the same storage key: the id binds the body.
    let unbound = ring.open(&other, &id.storage_key(), &data);
    assert_eq!(unbound, Err(Unopened::Forged));
    // The right id under another storage key: the associated data binds it.
    assert_eq!(
        ring.open(&id, &other.storage_key(), &data),
        Err(Unopened::Forged)
    );
    // Another ring, or the same key under another id: the key id must be known.
    assert_eq!(
        super::ring::KeyRing::new(8, &Key::from_secret(&[1; 64]).unwrap()).open(
            &id,
            &id.storage_key(),
            &data
        ),
        Err(Unopened::UnknownKey(7))
    );
}

#[test]
fn only_what_has_the_sealed_shape_is_taken_for_sealed() {
    let (ring, record) = (ring(7, 1), record());
    let id = SessionId::random_in([1, 2]);
    assert!(is_sealed(&sealed(&ring, &id, &record)));
    assert!(!is_sealed(record.as_bytes()), "a plain record");
    // A retired id's record may begin with the sealed format's byte: its lengths do not add up.
    let mut retired = vec![2; 64];
    retired[1..].fill(0);
    assert!(!is_sealed(&retired));
    assert!(!is_sealed(&[]));
}

#[test]
fn the_directory_holds_no_field_of_the_applications_and_no_secret() {
    let (ring, record) = (ring(7, 1), record());
    let id = SessionId::random_in([1, 2]);
    let data = sealed(&ring, &id, &record);
    let directory = ring.open_directory(&id.storage_key(), &data).unwrap();
    let directory = Record::decode_vec(directory).unwrap();
    assert_eq!(
        directory.get(crate::builtin::keys::LABEL),
        Some(&b"phone"[..])
    );
    assert_eq!(directory.get("app.note"), None);
    assert_eq!(directory.get(crate::builtin::keys::CSRF), None);
    assert_eq!(directory.created(), record.created());
    for secret in [
        &b"a field of the application's"[..],
        b"the csrf secret",
        b"phone",
    ] {
        assert!(!data.windows(secret.len()).any(|w| w == secret));
    }
}

#[test]
fn re_keying_moves_the_header_to_the_primary_and_keeps_the_body() {
    let old = ring(1, 1);
    let both = ring(1, 1)
        .with_key(2, &Key::from_secret(&[2; 64]).unwrap())
        .unwrap()
        .with_primary(2)
        .unwrap();
    let new_only = ring(2, 2);
    let (id, record) = (SessionId::random_in([3, 4]), record());
    let key = id.storage_key();
    let data = sealed(&old, &id, &record);
    assert_eq!(
        new_only.open(&id, &key, &data),
        Err(Unopened::UnknownKey(1))
    );
    let moved = both.rekey(&key, &data).unwrap().expect("moved");
    assert_eq!(
        both.rekey(&key, &moved).unwrap(),
        None,
        "under the primary already"
    );
    assert_eq!(new_only.open(&id, &key, &moved).unwrap(), record.as_bytes());
    assert_eq!(old.open(&id, &key, &moved), Err(Unopened::UnknownKey(2)));
    // Sealed without the id (re-key of a plain record): opens for its key, any id.
    let keyless = both.seal(
        None,
        &key,
        record.as_bytes(),
        &crate::builtin::directory(&record),
    );
    assert_eq!(both.open(&id, &key, &keyless).unwrap(), record.as_bytes());
    let elsewhere = SessionId::random_in([3, 4]).storage_key();
    assert_eq!(both.open(&id, &elsewhere, &keyless), Err(Unopened::Forged));
}

#[test]
fn a_ring_refuses_changes_that_would_break_it() {
    let key = Key::from_secret(&[3; 64]).unwrap();
    assert_eq!(
        ring(1, 1).with_key(1, &key).unwrap_err(),
        KeyRingError::DuplicateId(1)
    );
    assert_eq!(
        ring(1, 1).with_primary(2).unwrap_err(),
        KeyRingError::UnknownId(2)
    );
    assert_eq!(
        ring(1, 1).without_key(1).unwrap_err(),
        KeyRingError::PrimaryRetired(1)
    );
    assert_eq!(
        ring(1, 1).without_key(9).unwrap_err(),
        KeyRingError::UnknownId(9)
    );
    assert!(format!("{:?}", ring(1, 1)).contains("primary: 1"));
}

proptest! {
    /// Any change of a sealed record's bytes, any cut, and garbage: none opens, none panics.
    #[test]
    fn no_changed_cut_or_garbage_record_opens(at in any::<prop::sample::Index>(), flip in 1..=255u8, garbage in prop::collection::vec(any::<u8>(), 0..200)) {
        let (ring, record) = (ring(7, 1), record());
        let id = SessionId::random_in([1, 2]);
        let key = id.storage_key();
        let data = sealed(&ring, &id, &record);
        let mut changed = data.clone();
        let at = at.index(changed.len());
        changed[at] ^= flip;
        prop_assert!(ring.open(&id, &key, &changed).is_err());
        prop_assert!(ring.open(&id, &key, &data[..at]).is_err());
        let mut garbage = garbage;
        garbage.insert(0, data[0]);
        prop_assert!(ring.open(&id, &key, &garbage).is_err());
        prop_assert!(ring.open_directory(&key, &garbage).is_err());
        prop_assert!(ring.rekey(&key, &garbage).is_err());
    }
}

#[tokio::test]
async fn keys_load_from_a_file_or_the_environment_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        source::FileKeys::new(path)
    };
    let (new, old) = ("n".repeat(64), "o".repeat(64));
    let ring = KeyRing::load(&write("good", &format!("{new}\r\n{old}\n\n")))
        .await
        .unwrap();
    let primary = KeyRing::id_of(&Key::from_secret(new.as_bytes()).unwrap());
    assert_eq!((ring.primary(), ring.ids().count()), (primary, 2));

    let short = KeyRing::load(&write("short", &format!("{new}\nshort\n"))).await;
    assert!(
        matches!(short, Err(KeySourceError::Invalid { position: 2, .. })),
        "{short:?}"
    );
    let empty = KeyRing::load(&write("empty", "\n\n")).await;
    assert!(matches!(empty, Err(KeySourceError::Empty(_))), "{empty:?}");
    let twice = KeyRing::load(&write("twice", &format!("{new}\n{new}\n"))).await;
    assert!(
        matches!(
            twice,
            Err(KeySourceError::Ring(KeyRingError::DuplicateId(_)))
        ),
        "{twice:?}"
    );
    let missing = KeyRing::load(&source::FileKeys::new(dir.path().join("none"))).await;
    assert!(
        matches!(missing, Err(KeySourceError::Unreadable { .. })),
        "{missing:?}"
    );

    let unset = KeyRing::load(&source::EnvKeys::new("TYPED_SESSIONS_NO_SUCH_VARIABLE")).await;
    assert!(matches!(unset, Err(KeySourceError::Unset(_))), "{unset:?}");
    // Commas separate an environment variable's secrets; one alone is used as given.
    let keys = parse_secrets(&format!("{new},{old}"), ',', "SESSION_SECRET").unwrap();
    assert_eq!(keys.len(), 2);
    let with_newline = format!("{new}\n{old}");
    let one = parse_secrets(&with_newline, ',', "SESSION_SECRET").unwrap();
    assert_eq!(
        one.len(),
        1,
        "a secret holding a line break stays one secret"
    );
    let error = parse_secrets(&format!("{new},short"), ',', "SESSION_SECRET").unwrap_err();
    assert!(
        error.to_string().starts_with("SESSION_SECRET, secret 2: "),
        "{error}"
    );
}
