//! CSRF tokens bound to the session: a secret per session, kept in its record as a
//! built-in session struct (like its [lifetime](crate::lifetime)), created the first time a
//! token is asked for, renewed with the session's id and gone with the session.
//!
//! A token is the secret masked with fresh random bytes, `base64url(mask || secret ^
//! mask)`: a different string in every response, so that a compressed page that shows it
//! beside text an attacker chose does not leak it byte by byte (BREACH). Checked in
//! constant time.

use crate::typed::builtin_session_data;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// The record key: sorts after every derived struct's keys, before the lifetime's.
const SECRET: &str = "~session.csrf";

const SECRET_LEN: usize = 32;
/// base64url without padding of a mask and a masked secret.
const TOKEN_LEN: usize = (2 * SECRET_LEN * 4).div_ceil(3);

/// The session's CSRF secret, once a token was asked for.
#[derive(Default)]
pub(crate) struct CsrfSecret {
    pub(crate) secret: Option<[u8; SECRET_LEN]>,
}

impl CsrfSecret {
    /// A fresh random secret.
    pub(crate) fn generate() -> [u8; SECRET_LEN] {
        let mut secret = [0; SECRET_LEN];
        crate::random::fill(&mut secret);
        secret
    }
}

builtin_session_data!(CsrfSecret { 0: secret at SECRET });

/// A token for `secret`, masked with fresh random bytes.
pub(crate) fn mask(secret: &[u8; SECRET_LEN]) -> String {
    let mut raw = [0; 2 * SECRET_LEN];
    let (mask, masked) = raw.split_at_mut(SECRET_LEN);
    crate::random::fill(mask);
    for ((out, secret), mask) in masked.iter_mut().zip(secret).zip(&*mask) {
        *out = secret ^ mask;
    }
    URL_SAFE_NO_PAD.encode(raw)
}

/// Whether `token` was made by [`mask`] from `secret`, checked in constant time.
pub(crate) fn verify(secret: &[u8; SECRET_LEN], token: &str) -> bool {
    let token = token.trim();
    if token.len() != TOKEN_LEN {
        return false;
    }
    let mut raw = [0; 2 * SECRET_LEN + 2];
    let Ok(decoded) = URL_SAFE_NO_PAD.decode_slice(token, &mut raw) else {
        return false;
    };
    if decoded != 2 * SECRET_LEN {
        return false;
    }
    let (mask, masked) = raw[..2 * SECRET_LEN].split_at(SECRET_LEN);
    let mut unmasked = [0; SECRET_LEN];
    for ((out, masked), mask) in unmasked.iter_mut().zip(masked).zip(mask) {
        *out = masked ^ mask;
    }
    unmasked.ct_eq(secret).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_each_time_and_verify_only_against_their_secret() {
        let secret = CsrfSecret::generate();
        let (one, two) = (mask(&secret), mask(&secret));
        assert_ne!(one, two, "masked afresh");
        assert_eq!(one.len(), TOKEN_LEN);
        assert!(verify(&secret, &one) && verify(&secret, &two));
        assert!(!verify(&CsrfSecret::generate(), &one), "another session's");
        for forged in [
            "",
            "x",
            &one[1..],
            &format!("{one}A"),
            &one.replace('A', "B"),
        ] {
            if forged != one {
                assert!(!verify(&secret, forged), "{forged:?}");
            }
        }
        let mut flipped = one.into_bytes();
        flipped[50] = if flipped[50] == b'a' { b'b' } else { b'a' };
        assert!(!verify(&secret, std::str::from_utf8(&flipped).unwrap()));
    }
}
