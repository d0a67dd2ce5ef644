//! Any text as a signed id cookie value: verification never panics and never accepts a value
//! that differs from what the key signs for the id it returns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use session::__private::IdCookie;

fuzz_target!(|value: &str| {
    let signer = IdCookie::new(&session::Key::from_secret(&[3; 64]).unwrap());
    if let Some(id) = signer.verify("id", value) {
        assert_eq!(signer.sign("id", &id), value);
    }
});
