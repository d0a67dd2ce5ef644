//! Any bytes as a stored record: see `session::internals::fuzz::stored_record`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| session::internals::fuzz::stored_record(data));
