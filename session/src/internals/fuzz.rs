//! The properties the fuzz targets check, here so that the test suite replays the kept
//! inputs (`fuzz/seeds/<target>/`, and any crash under `fuzz/regressions/<target>/`) through
//! exactly the same code. Each function panics when a property fails.

use crate::cookie::codec::CookieCodec;
use crate::cookie::signed_id::IdSigner;
use crate::crypto::Key;
use crate::id::SessionId;
use crate::record::Record;
use std::time::SystemTime;

fn key() -> Key {
    Key::from_secret(&[3; 64]).expect("64 bytes")
}

/// Any bytes as `Cookie` headers (one per line): finding the session id never panics, and
/// only a value this key signed is ever returned.
pub fn cookie_header(data: &[u8]) {
    let signer = IdSigner::new(&[key()]);
    let mut headers = http::HeaderMap::new();
    for line in data.split(|&byte| byte == b'\n') {
        if let Ok(value) = http::HeaderValue::from_bytes(line) {
            headers.append(http::header::COOKIE, value);
        }
    }
    if let Some(verified) = signer.find("id", &headers) {
        let signed = signer.sign("id", &verified.id);
        assert!(
            data.windows(signed.len()).any(|w| w == signed.as_bytes()),
            "accepted an id whose signed value is not in the input"
        );
    }
}

/// Any text as a signed id cookie value: verification never panics and never accepts a
/// value other than the one the key signs for the id it returns.
pub fn signed_id(value: &str) {
    let signer = IdSigner::new(&[key()]);
    if let Some(verified) = signer.verify("id", value) {
        assert_eq!(
            signer.sign("id", &verified.id),
            value,
            "a second form verified"
        );
    }
}

/// Two modes, chosen by the first byte.
///
/// Even: the rest, as text, is a sealed or signed session cookie. Nothing opens: the
/// fuzzer does not have the key.
///
/// Odd: the rest is a field value. It is sealed and signed into genuine cookies, which
/// must open to the same record, and then one byte of each, chosen and changed by the
/// input's last two bytes, is altered, or the value cut short: no altered value opens. This
/// is how the fuzzer reaches the paths behind a valid tag.
pub fn open_cookie(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let codecs = [CookieCodec::sealed(&[key()]), CookieCodec::signed(&[key()])];
    if mode % 2 == 0 {
        let value = String::from_utf8_lossy(rest);
        for codec in &codecs {
            assert!(codec.open("id", &value, 0).is_none(), "forged: {value:?}");
        }
        return;
    }
    let (value, change) = match rest {
        [value @ .., at, with] => (value, (usize::from(*at), *with)),
        _ => return,
    };
    let mut record = Record::new(SystemTime::UNIX_EPOCH);
    record.apply([("fuzz.value", value)]);
    for codec in &codecs {
        let sealed = codec.seal(
            "id",
            &SessionId::from_bytes([5; 16]),
            &record,
            u64::MAX - 1,
            None,
        );
        let opened = codec
            .open("id", &sealed, 0)
            .expect("a genuine cookie opens");
        assert_eq!(opened.record, record);
        let mut altered = sealed.clone().into_bytes();
        let at = change.0 * altered.len() / 256;
        if change.1 == 0 {
            altered.truncate(at);
        } else {
            // Stay within base64url's alphabet, so the change reaches the tag check.
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let now = ALPHABET.iter().position(|&c| c == altered[at]).unwrap_or(0);
            altered[at] = ALPHABET[(now + usize::from(change.1)) % ALPHABET.len()];
        }
        let altered = String::from_utf8(altered).expect("base64url is ASCII");
        // A step of a multiple of 64 is no change.
        if altered != sealed {
            assert!(
                codec.open("id", &altered, 0).is_none(),
                "altered value opened"
            );
        }
    }
}

/// Any bytes as a stored record: decoding never panics, and what decodes re-encodes to a
/// record that decodes to itself.
pub fn stored_record(data: &[u8]) {
    if let Ok(record) = Record::decode(data) {
        let again = record.encode();
        assert_eq!(Record::decode(&again).ok().as_ref(), Some(&record));
    }
}

/// Any bytes as the text of a DBSC proof: checking it never panics, as a registration's
/// (under the key it carries) or a refresh's; and no refresh proof verifies under a key
/// whose private half no one has (a fresh one, per process).
pub fn dbsc_proof(data: &[u8]) {
    use crate::device::proof::{PublicKey, verify};
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    static UNKNOWN: std::sync::LazyLock<PublicKey> = std::sync::LazyLock::new(|| {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("the key just made");
        PublicKey::Es256(pair.public_key().as_ref().to_vec())
    });
    let text = String::from_utf8_lossy(data);
    if let Ok(proof) = verify(&text, None) {
        // What verified names the key it was checked with, and its challenge.
        assert!(matches!(
            proof.key,
            PublicKey::Es256(_) | PublicKey::Rs256 { .. }
        ));
    }
    assert!(
        verify(&text, Some(&UNKNOWN)).is_err(),
        "a forged refresh proof verified"
    );
}

/// A fuzz target's check of one input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name, with their checks.
pub const TARGETS: [(&str, Check); 5] = [
    ("cookie_header", cookie_header),
    ("signed_id", |data| {
        signed_id(&String::from_utf8_lossy(data))
    }),
    ("open_cookie", open_cookie),
    ("stored_record", stored_record),
    ("dbsc_proof", dbsc_proof),
];

/// Genuine inputs for `target`, for the fuzzer to start from: what the layer itself
/// produces, so mutations begin past the format checks.
#[must_use]
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let ids = IdSigner::new(&[key()]);
    let signed = ids.sign("id", &SessionId::random());
    let mut record = Record::new(SystemTime::UNIX_EPOCH);
    record.apply([("app.user", &b"\x05alice"[..]), ("app.visits", &[3][..])]);
    match target {
        "cookie_header" => vec![
            format!("id={signed}").into_bytes(),
            format!("theme=dark; id={signed}; lang=en\nid=other").into_bytes(),
            format!("id=\"{signed}\"; id={signed}").into_bytes(),
        ],
        "signed_id" => vec![signed.into_bytes()],
        "open_cookie" => {
            // Well-formed cookies of another deployment (another key): they pass every
            // format check and fail only at the tag.
            let other = Key::from_secret(&[4; 64]).expect("64 bytes");
            let mut seeds: Vec<Vec<u8>> = [
                CookieCodec::sealed(std::slice::from_ref(&other)),
                CookieCodec::signed(&[other]),
            ]
            .iter()
            .map(|codec| {
                [
                    &[0][..],
                    codec
                        .seal(
                            "id",
                            &SessionId::from_bytes([5; 16]),
                            &record,
                            u64::MAX - 1,
                            None,
                        )
                        .as_bytes(),
                ]
                .concat()
            })
            .collect();
            seeds.push(b"\x01alice\x10\x07".to_vec());
            seeds.push(vec![1; 300]);
            seeds
        }
        "dbsc_proof" => dbsc_seeds(),
        "stored_record" => vec![
            record.encode(),
            Record::new(SystemTime::UNIX_EPOCH).encode(),
        ],
        _ => Vec::new(),
    }
}

/// Genuine DBSC proofs: a registration's (ES256, its key in the header) and a refresh's.
fn dbsc_seeds() -> Vec<Vec<u8>> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("a P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("the key just made");
    let point = pair.public_key().as_ref();
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    });
    let registration = serde_json::json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk });
    let refresh = serde_json::json!({ "alg": "ES256", "typ": "dbsc+jwt" });
    [registration, refresh]
        .iter()
        .map(|header| {
            let claims = serde_json::json!({ "jti": "challenge" });
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let signature = pair.sign(&rng, input.as_bytes()).expect("ES256 signs");
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())).into_bytes()
        })
        .collect()
}
