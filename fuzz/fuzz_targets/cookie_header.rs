//! Any bytes as `Cookie` headers: see `typed_sessions::internals::fuzz::cookie_header`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| typed_sessions::internals::fuzz::cookie_header(data));
