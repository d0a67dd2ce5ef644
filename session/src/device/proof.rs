//! A DBSC proof: the JWT a browser signs with its session key (`typ` `dbsc+jwt`), checked
//! with `ring`'s ECDSA P-256 (ES256) and RSA PKCS#1 v1.5 (RS256) verification. Only those
//! two algorithms are taken: `none`, HS256 and anything else are refused before any key is
//! looked at.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

/// The longest proof read, in bytes: a registration's carries an RSA key of at most 4096
/// bits, well below it.
pub(crate) const MAX_LEN: usize = 8 * 1024;

/// A session key's public half, as the record keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PublicKey {
    /// ES256: the P-256 point, uncompressed (`04 | x | y`).
    Es256(Vec<u8>),
    /// RS256: the modulus and the exponent, big-endian.
    Rs256 { n: Vec<u8>, e: Vec<u8> },
}

/// Why a proof was refused: every one a 400, never a 500.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProofError {
    #[error("the proof is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("the proof is not a compact JWS of three base64url parts")]
    Malformed,
    #[error("the proof's header or claims are not the JSON DBSC asks for")]
    BadJson,
    #[error("the proof's `typ` is not `dbsc+jwt`")]
    WrongType,
    #[error("the proof's algorithm is not ES256 or RS256")]
    Algorithm,
    #[error("the proof's `jwk` is missing, unexpected, or not a P-256 or RSA key")]
    Key,
    #[error("the proof's signature does not verify")]
    Signature,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    jwk: Option<Jwk>,
}

/// The members of a JWK (RFC 7517) a DBSC key has.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    authorization: Option<String>,
}

/// A proof whose signature verified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Proof {
    /// The challenge it answers.
    pub(crate) jti: String,
    /// The registration header's `authorization`, when the browser copied one.
    pub(crate) authorization: Option<String>,
    /// The key it was checked with: the `jwk` it carries at registration, the stored one
    /// at a refresh.
    pub(crate) key: PublicKey,
}

fn decode(part: &str) -> Result<Vec<u8>, ProofError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| ProofError::Malformed)
}

impl PublicKey {
    fn of(jwk: &Jwk, alg: &str) -> Result<Self, ProofError> {
        match (alg, jwk.kty.as_str()) {
            ("ES256", "EC") => {
                let (Some("P-256"), Some(x), Some(y)) = (jwk.crv.as_deref(), &jwk.x, &jwk.y) else {
                    return Err(ProofError::Key);
                };
                let (x, y) = (decode(x)?, decode(y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(ProofError::Key);
                }
                Ok(Self::Es256([&[4][..], &x, &y].concat()))
            }
            ("RS256", "RSA") => {
                let (Some(n), Some(e)) = (&jwk.n, &jwk.e) else {
                    return Err(ProofError::Key);
                };
                let (n, e) = (decode(n)?, decode(e)?);
                // ring checks the sizes too (2048 to 8192 bits); 4096 is what DBSC needs.
                if !(256..=512).contains(&n.len()) || e.is_empty() || e.len() > 8 {
                    return Err(ProofError::Key);
                }
                Ok(Self::Rs256 { n, e })
            }
            _ => Err(ProofError::Key),
        }
    }

    const fn algorithm(&self) -> &'static str {
        match self {
            Self::Es256(_) => "ES256",
            Self::Rs256 { .. } => "RS256",
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), ProofError> {
        let verified = match self {
            Self::Es256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
            }
            Self::Rs256 { n, e } => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
        };
        verified.map_err(|_| ProofError::Signature)
    }
}

/// Checks `jwt`: its type, an allowed algorithm, its signature under `stored` (a refresh;
/// the proof must then carry no key) or under the `jwk` it carries (a registration,
/// `stored` `None`).
pub(crate) fn verify(jwt: &str, stored: Option<&PublicKey>) -> Result<Proof, ProofError> {
    if jwt.len() > MAX_LEN {
        return Err(ProofError::TooLong);
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let signed = &jwt[..header.len() + 1 + claims.len()];
    let header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| ProofError::BadJson)?;
    if header.typ.as_deref() != Some("dbsc+jwt") {
        return Err(ProofError::WrongType);
    }
    if header.alg != "ES256" && header.alg != "RS256" {
        return Err(ProofError::Algorithm);
    }
    let key = match (stored, &header.jwk) {
        (None, Some(jwk)) => PublicKey::of(jwk, &header.alg)?,
        (Some(stored), None) if stored.algorithm() == header.alg => stored.clone(),
        (Some(_), None) => return Err(ProofError::Algorithm),
        _ => return Err(ProofError::Key),
    };
    key.verify(signed.as_bytes(), &decode(signature)?)?;
    let claims: Claims =
        serde_json::from_slice(&decode(claims)?).map_err(|_| ProofError::BadJson)?;
    Ok(Proof {
        jti: claims.jti,
        authorization: claims.authorization,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::{Value, json};

    fn pair() -> EcdsaKeyPair {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn jwk(pair: &EcdsaKeyPair) -> Value {
        let point = pair.public_key().as_ref();
        json!({ "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]) })
    }

    fn sign(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = pair
            .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    #[test]
    fn a_registration_carries_its_key_and_a_refresh_is_checked_under_the_stored_one() {
        let (device, other) = (pair(), pair());
        let claims = json!({ "jti": "c1", "authorization": "a1" });
        let registration = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk(&device) });
        let proof = verify(&sign(&device, &registration, &claims), None).unwrap();
        assert_eq!(
            (proof.jti.as_str(), proof.authorization.as_deref()),
            ("c1", Some("a1"))
        );
        let stored = proof.key;
        let refresh = json!({ "alg": "ES256", "typ": "dbsc+jwt" });
        assert!(verify(&sign(&device, &refresh, &claims), Some(&stored)).is_ok());
        assert_eq!(
            verify(&sign(&other, &refresh, &claims), Some(&stored)),
            Err(ProofError::Signature)
        );
        // A refresh must not bring a key of its own, nor change the algorithm.
        assert_eq!(
            verify(&sign(&device, &registration, &claims), Some(&stored)),
            Err(ProofError::Key)
        );
        let rs256 = json!({ "alg": "RS256", "typ": "dbsc+jwt" });
        assert_eq!(
            verify(&sign(&device, &rs256, &claims), Some(&stored)),
            Err(ProofError::Algorithm)
        );
        // A key that is not a P-256 point.
        let mut bad = jwk(&device);
        bad["crv"] = json!("P-384");
        let header = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": bad });
        assert_eq!(
            verify(&sign(&device, &header, &claims), None),
            Err(ProofError::Key)
        );
        assert_eq!(
            verify(&"a".repeat(MAX_LEN + 1), None),
            Err(ProofError::TooLong)
        );
    }
}
