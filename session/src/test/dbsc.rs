//! The browser's side of DBSC ([`crate::dbsc`]), for tests: a device key that signs proofs
//! as the specification says a browser does, and readers of the headers a server sends.
//! Written from the specification apart from the server's side, so that a test driving
//! one with the other checks both against it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sfv::{BareItem, Item, List, ListEntry, Parser};

/// A device's P-256 session key (ES256), as a browser keeps in its TPM.
///
/// ```
/// use typed_sessions::test::DbscDevice;
///
/// let device = DbscDevice::new();
/// let proof = device.registration_proof("challenge");
/// assert_eq!(proof.split('.').count(), 3);
/// ```
pub struct DbscDevice {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for DbscDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbscDevice(REDACTED)")
    }
}

impl Default for DbscDevice {
    fn default() -> Self {
        Self::new()
    }
}

impl DbscDevice {
    /// A new random key.
    ///
    /// # Panics
    /// If the operating system cannot provide randomness.
    #[must_use]
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("the key just made");
        Self { pair, rng }
    }

    /// The public key as a JWK (RFC 7517): `{"kty": "EC", "crv": "P-256", "x", "y"}`.
    #[must_use]
    pub fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// The proof a browser posts to register: `challenge` signed, the key in the header.
    #[must_use]
    pub fn registration_proof(&self, challenge: &str) -> String {
        let header = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": self.jwk() });
        self.sign(&header, &json!({ "jti": challenge }))
    }

    /// The proof a browser posts to refresh: `challenge` signed, no key in the header.
    #[must_use]
    pub fn refresh_proof(&self, challenge: &str) -> String {
        let header = json!({ "alg": "ES256", "typ": "dbsc+jwt" });
        self.sign(&header, &json!({ "jti": challenge }))
    }

    /// A JWS of `header` and `claims`, signed with ES256 whatever the header says: for
    /// tests of the proofs a server must refuse.
    ///
    /// # Panics
    /// If the key cannot sign (it always can).
    #[must_use]
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&self.rng, signing_input.as_bytes())
            .expect("ES256 signs");
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        )
    }
}

/// The value of a `Secure-Session-Response` header carrying `proof`: a structured-field
/// string.
#[must_use]
pub fn response_header(proof: &str) -> String {
    format!("\"{proof}\"")
}

/// The path and the challenge of a `Secure-Session-Registration` header that offers ES256.
#[must_use]
pub fn registration_offer(header: &str) -> Option<(String, String)> {
    let list: List = Parser::new(header).parse().ok()?;
    list.iter().find_map(|entry| {
        let ListEntry::InnerList(inner) = entry else {
            return None;
        };
        let offers_es256 = inner.items.iter().any(
            |item| matches!(&item.bare_item, BareItem::Token(token) if token.as_str() == "ES256"),
        );
        let text = |key: &str| match inner.params.get(key) {
            Some(BareItem::String(text)) => Some(text.as_str().to_owned()),
            _ => None,
        };
        offers_es256.then(|| Some((text("path")?, text("challenge")?)))?
    })
}

/// The challenge and the session identifier of a `Secure-Session-Challenge` header.
#[must_use]
pub fn challenge_of(header: &str) -> Option<(String, String)> {
    let item: Item = Parser::new(header).parse().ok()?;
    let BareItem::String(challenge) = &item.bare_item else {
        return None;
    };
    let Some(BareItem::String(id)) = item.params.get("id") else {
        return None;
    };
    Some((challenge.as_str().to_owned(), id.as_str().to_owned()))
}
