//! Any bytes as `Cookie` headers: see `session::internals::fuzz::cookie_header`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| session::internals::fuzz::cookie_header(data));
