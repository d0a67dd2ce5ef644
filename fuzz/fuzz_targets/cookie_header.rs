//! Any bytes as `Cookie` headers: finding the session id never panics, and only a value this
//! key signed is ever returned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session::__private::{IdCookie, find_session_id};

fuzz_target!(|data: &[u8]| {
    let signer = IdCookie::new(&session::Key::from_secret(&[3; 64]).unwrap());
    let mut headers = http::HeaderMap::new();
    for chunk in data.split(|&b| b == b'\n') {
        if let Ok(value) = http::HeaderValue::from_bytes(chunk) {
            headers.append(http::header::COOKIE, value);
        }
    }
    if let Some(id) = find_session_id(&signer, "id", &headers) {
        // Only possible if the input contains a value this key signed for this id.
        let signed = signer.sign("id", &id);
        assert!(data.windows(signed.len()).any(|w| w == signed.as_bytes()));
    }
});
