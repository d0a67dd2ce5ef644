//! CSRF tokens masked from a session's secret: `base64url(mask || secret ^ mask)` with a
//! fresh random mask, a different string in every response, so that a compressed page that
//! shows it beside text an attacker chose does not leak it byte by byte (BREACH). Checked
//! in constant time.
//!
//! The CSRF feature lives where the layering puts each part: `csrf/` (the extractor and the
//! middleware), `builtin/csrf.rs` (the secret, kept in the record), `request/csrf.rs` (a
//! request's token and check, under its state's lock) and `crypto/mask.rs` (the masking).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// The length of a session's CSRF secret.
pub(crate) const SECRET_LEN: usize = 32;
/// base64url without padding of a mask and a masked secret.
const TOKEN_LEN: usize = (2 * SECRET_LEN * 4).div_ceil(3);

/// A token for `secret`, masked with fresh random bytes.
pub(crate) fn mask(secret: &[u8; SECRET_LEN]) -> String {
    let mut raw = [0; 2 * SECRET_LEN];
    let (mask, masked) = raw.split_at_mut(SECRET_LEN);
    super::random::fill(mask);
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

    fn random_secret() -> [u8; SECRET_LEN] {
        let mut secret = [0; SECRET_LEN];
        super::super::random::fill(&mut secret);
        secret
    }

    #[test]
    fn tokens_differ_each_time_and_verify_only_against_their_secret() {
        let secret = random_secret();
        let (one, two) = (mask(&secret), mask(&secret));
        assert_ne!(one, two, "masked afresh");
        assert_eq!(one.len(), TOKEN_LEN);
        assert!(verify(&secret, &one) && verify(&secret, &two));
        assert!(!verify(&random_secret(), &one), "another session's");
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
