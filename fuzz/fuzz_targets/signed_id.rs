//! Any text as a signed id cookie value: see `session::__fuzz::signed_id`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| session::__fuzz::signed_id(value));
