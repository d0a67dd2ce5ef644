//! CSRF protection bound to the session, as a tower-http middleware reads: [`CsrfToken`]
//! gives a page its token (`token.rs`), and [`CsrfLayer`] (`layer.rs`) wraps routes in a
//! [`CsrfService`] (`service.rs`) that refuses unsafe requests without one, answering
//! through a [`CsrfFuture`] (`future.rs`).
//!
//! The secret behind the tokens is a built-in session struct (`builtin/csrf.rs`, saved with
//! the session), its masking is crypto (`crypto/mask.rs`), and a request reaches it under
//! its state's lock (`request/csrf.rs`): the layering splits the feature there, so that
//! the record and crypto rows know nothing of HTTP.

mod future;
mod layer;
mod service;
mod token;

pub use future::CsrfFuture;
pub use layer::CsrfLayer;
pub use service::CsrfService;
pub use token::CsrfToken;
