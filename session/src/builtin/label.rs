//! What a session is called in its user's list of devices ("Firefox on Linux"): set by the
//! application, kept in the record beside the fields as a built-in session struct, and
//! shown by [`ActiveSession::label`](crate::ActiveSession::label).

use super::builtin_session_data;
use super::keys::LABEL;
use crate::record::Record;

/// The longest label kept, in bytes; a longer one is cut at a character boundary.
pub(crate) const MAX_LEN: usize = 128;

/// The session's label, once the application set one.
#[derive(Default)]
pub(crate) struct DeviceLabel {
    pub(crate) label: Option<String>,
}

builtin_session_data!(DeviceLabel { 0: label at LABEL });

/// `label` as it is kept: control characters dropped, at most [`MAX_LEN`] bytes, cut at a
/// character boundary (a label is shown, so it must print on one line).
pub(crate) fn clean(label: &str) -> String {
    let mut kept = String::with_capacity(label.len().min(MAX_LEN));
    for c in label.chars().filter(|c| !c.is_control()) {
        if kept.len() + c.len_utf8() > MAX_LEN {
            break;
        }
        kept.push(c);
    }
    kept
}

/// The label of the session in `record`, if it has one.
pub(crate) fn label_of(record: &Record) -> Option<String> {
    super::decode_builtin(record, LABEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_printable_line_of_bounded_length() {
        assert_eq!(clean("Firefox on Linux"), "Firefox on Linux");
        assert_eq!(clean("a\nb\u{7}c"), "abc");
        let long = "é".repeat(100);
        let kept = clean(&long);
        assert!(
            kept.len() <= MAX_LEN && kept.len() >= MAX_LEN - 1,
            "{}",
            kept.len()
        );
        assert!(long.starts_with(&kept));
    }
}
