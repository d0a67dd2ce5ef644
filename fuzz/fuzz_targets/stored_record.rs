//! Any bytes as a stored record: see `typed_sessions::internals::fuzz::stored_record`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| typed_sessions::internals::fuzz::stored_record(data));
