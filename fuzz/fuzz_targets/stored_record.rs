//! Any bytes as a stored record: decoding never panics, and what decodes re-encodes to a
//! record that decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session::__private::{decode_record, encode_record};

fuzz_target!(|data: &[u8]| {
    if let Some(record) = decode_record(data) {
        let again = encode_record(&record);
        assert_eq!(decode_record(&again).as_ref(), Some(&record));
    }
});
