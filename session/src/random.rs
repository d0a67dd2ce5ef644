//! Randomness from the operating system's CSPRNG: ids, keys, nonces, store versions.

/// Fills `bytes`, or fails when the OS cannot provide randomness.
pub(crate) fn try_fill(bytes: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::getrandom(bytes)
}

/// Fills `bytes`.
///
/// # Panics
/// If the OS cannot provide randomness: without it no id, key or nonce is safe to use.
pub(crate) fn fill(bytes: &mut [u8]) {
    try_fill(bytes).expect("the OS random number generator failed");
}

/// A random `u64`, or the OS's failure.
pub(crate) fn try_u64() -> Result<u64, getrandom::Error> {
    let mut bytes = [0; 8];
    try_fill(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// A random `u64`. Panics like [`fill`].
pub(crate) fn u64() -> u64 {
    try_u64().expect("the OS random number generator failed")
}
