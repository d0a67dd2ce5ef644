//! Device Bound Session Credentials (W3C DBSC): sessions whose cookie stops working on any
//! other device.
//!
//! After a login the response offers the browser to bind the session
//! (`Secure-Session-Registration`). A browser that supports DBSC makes a key pair whose
//! private half never leaves the device (a TPM or the platform's key store), signs the
//! offered challenge with it and posts the proof to the registration endpoint, which keeps
//! the public key in the session's record and sets a short-lived *bound cookie* beside the
//! session cookie. From then on a request of the session needs a valid, unexpired bound
//! cookie; when it expires, the browser proves possession of the key again at the refresh
//! endpoint, which answers a fresh challenge and then sets the next bound cookie. A thief
//! who copied both cookies holds them only until the bound cookie expires: without the
//! private key, nothing refreshes it.
//!
//! - [`DeviceBinding`] configures it on the layer
//!   ([`SessionLayer::with_device_binding`](crate::SessionLayer::with_device_binding));
//! - [`Registration`] and [`Refresh`] are the two endpoints, to mount at the configured
//!   paths (`/dbsc/start` and `/dbsc/refresh` by default);
//! - [`RequireDeviceBindingLayer`] refuses a route set to sessions that are not bound
//!   (admin areas).
//!
//! Each registration and refresh also answers the challenge for the next refresh
//! (`Secure-Session-Challenge`), which the browser keeps: when the bound cookie runs out it
//! signs that one, and a refresh is a single request. For a few seconds after the binding
//! ([`DeviceBinding::with_registration_grace`]), a request without any bound cookie is still
//! served: the browser registers in the background, and the page a login redirects to is
//! requested before the first bound cookie arrives.
//!
//! Browsers without DBSC ignore the offer and go on with the session cookie alone. Bearer
//! token sessions are out of scope: DBSC binds cookies.
//!
//! Tested with Chromium 156 (`examples/tests/dbsc_browser.rs`), which runs DBSC only on an
//! HTTPS origin whose certificate verified, with the switch
//! `--enable-features=DeviceBoundSessions:RequireOriginTrialTokens/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting`
//! where it has no TPM. It sends its proof and session id as bare values rather than the
//! spec's structured-field strings; both are read.
//!
//! The layering splits it: this module (`dbsc/`) holds the endpoints and the layer, above
//! the request; `device/` what is kept and checked below it (the settings, the proof, the
//! headers, the binding in the record, the bound cookie); `request/device.rs` the check of
//! a bound session as it arrives, and the offer on login.
//!
//! ```
//! use axum::Router;
//! use axum::routing::get;
//! use typed_sessions::dbsc::{DeviceBinding, Refresh, Registration};
//! use typed_sessions::{Key, MemoryStore, SessionLayer};
//!
//! let layer = SessionLayer::new(MemoryStore::new(), &Key::generate())
//!     .with_device_binding(DeviceBinding::new());
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .route_service("/dbsc/start", Registration)
//!     .route_service("/dbsc/refresh", Refresh)
//!     .layer(layer);
//! # let _ = app;
//! ```

mod endpoint;
mod required;

pub use crate::device::{DeviceBinding, Unproven};
pub use endpoint::{Refresh, Registration};
pub use required::{RequireDeviceBinding, RequireDeviceBindingLayer};
