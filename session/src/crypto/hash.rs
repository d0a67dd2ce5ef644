//! SHA-256, plain (a session's storage key) and tagged with a [`Label`] (every other hash),
//! so that hashes made for different purposes never coincide.

use super::Label;
use sha2::{Digest, Sha256};

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 of `label`, a NUL, then `data`.
pub(crate) fn tagged_sha256(label: Label, data: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(label.as_str())
        .chain_update([0])
        .chain_update(data)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_separate_hashes_of_the_same_data() {
        let data = b"ada";
        assert_ne!(
            tagged_sha256(Label::OwnerShard, data),
            tagged_sha256(Label::Revocation, data)
        );
        assert_ne!(tagged_sha256(Label::OwnerShard, data), sha256(data));
        // The NUL ends the label: no label followed by data reads as another label.
        assert_eq!(
            tagged_sha256(Label::Fingerprint, data),
            sha256(b"session/fingerprint/v1\0ada")
        );
    }
}
