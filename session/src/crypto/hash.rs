//! SHA-256, plain (a session's storage key) and tagged with a [`Label`] (every other hash),
//! so that hashes made for different purposes never coincide. `ring`'s: its assembly runs
//! a storage key's hash in 2,517 instructions where `sha2`'s portable code took 3,597
//! (callgrind, which hides the CPU's SHA extensions from both), and every request that
//! reads a session makes one.

use super::Label;
use ring::digest::{Context, SHA256};

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    finish(ring::digest::digest(&SHA256, data))
}

/// SHA-256 of `label`, a NUL, then `data`.
pub(crate) fn tagged_sha256(label: Label, data: &[u8]) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    context.update(label.as_str().as_bytes());
    context.update(&[0]);
    context.update(data);
    finish(context.finish())
}

fn finish(digest: ring::digest::Digest) -> [u8; 32] {
    digest.as_ref().try_into().expect("SHA-256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_sha256() {
        // FIPS 180-2, appendix B.1.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = sha256(b"abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

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
