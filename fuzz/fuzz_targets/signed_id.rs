//! Any text as a signed id cookie value: see `typed_sessions::internals::fuzz::signed_id`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| typed_sessions::internals::fuzz::signed_id(value));
