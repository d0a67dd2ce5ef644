//! Any bytes as a DBSC proof (a JWT): see `typed_sessions::internals::fuzz::dbsc_proof`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| typed_sessions::internals::fuzz::dbsc_proof(data));
