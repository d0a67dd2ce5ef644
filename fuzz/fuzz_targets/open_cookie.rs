//! Forged and altered sealed or signed cookies: see `typed_sessions::internals::fuzz::open_cookie`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| typed_sessions::internals::fuzz::open_cookie(data));
