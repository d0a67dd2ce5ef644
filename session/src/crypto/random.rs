//! Randomness for ids, keys, nonces and store versions: `rand`'s thread-local CSPRNG
//! (ChaCha12, seeded and periodically reseeded from the OS), the generator axum-extra's
//! private cookies use too. A system call per value (the OS generator directly) costs about
//! 200 ns, an eighth of a sealed cookie's seal and open.

use rand::Rng;

/// Fills `bytes`.
///
/// # Panics
/// If the OS cannot seed the generator: without it no id, key or nonce is safe to use.
pub(crate) fn fill(bytes: &mut [u8]) {
    rand::rng().fill_bytes(bytes);
}

/// A random `u64`. Panics like [`fill`].
pub(crate) fn u64() -> u64 {
    rand::rng().next_u64()
}
