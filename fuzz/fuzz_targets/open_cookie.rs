//! Forged and altered sealed or signed cookies: see `session::__fuzz::open_cookie`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| session::__fuzz::open_cookie(data));
