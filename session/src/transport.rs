//! Where a session's token travels: in the session cookie, or in a request header
//! (`Authorization: Bearer`, or one the application names) for clients that keep no
//! cookies, with a new token sent back in a response header.
//!
//! The token is the same either way: the signed id, or the sealed session of a cookie
//! store, with the same checks.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Where a layer reads the session token from, and where it sends a new one
/// ([`SessionLayer::with_transport`](crate::SessionLayer::with_transport)).
///
/// - [`Transport::cookie`] (the default): the session cookie, answered with `Set-Cookie`.
/// - [`Transport::bearer`]: `Authorization: Bearer <token>`; [`Transport::header`]: a header
///   the application names. A new or rotated token is answered in the `Session-Token`
///   response header (see [`with_response_header`](Self::with_response_header)), an ended
///   session with an empty `Session-Token`, and no `Set-Cookie` is ever sent. Cookies are
///   not read.
/// - Either of those [`or_cookie`](Self::or_cookie): the header when the request carries
///   it, else the cookie. **The header wins**: a request that carries both is the header's
///   session, and its cookie is not read. A request is answered the way it came (a new
///   session, which came by neither, gets a cookie).
///
/// A layer is one transport: an application gives its `/api` routes a layer of their own
/// (same store, same key) to have bearer tokens there and cookies elsewhere.
///
/// ```
/// use axum::{Router, routing::get};
/// use typed_sessions::{Key, MemoryStore, SessionLayer, Transport};
///
/// let (store, key) = (MemoryStore::new(), Key::generate());
/// let pages = SessionLayer::new(store.clone(), &key);
/// let api = pages.clone().with_transport(Transport::bearer());
/// let app: Router = Router::new()
///     .route("/", get(|| async { "page" }))
///     .layer(pages)
///     .nest("/api", Router::new().route("/me", get(|| async { "me" })).layer(api));
/// ```
#[derive(Clone, Debug)]
pub struct Transport {
    header: Option<TokenHeader>,
    cookie: bool,
    response: HeaderName,
}

#[derive(Clone, Debug)]
enum TokenHeader {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The whole value of this header.
    Named(HeaderName),
}

/// How a request's session token came, and so how its response answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    Cookie,
    Header,
}

/// Where to look for a request's token.
#[derive(Clone, Copy)]
pub(crate) enum Found<'a> {
    /// In the header: this token, if the request carried one.
    Header(Option<&'a str>),
    /// In the session cookies.
    Cookie,
}

impl Default for Transport {
    fn default() -> Self {
        Self::cookie()
    }
}

impl Transport {
    /// The session cookie (the default).
    #[must_use]
    pub fn cookie() -> Self {
        Self {
            header: None,
            cookie: true,
            response: HeaderName::from_static("session-token"),
        }
    }

    /// `Authorization: Bearer <token>`, and no cookie.
    #[must_use]
    pub fn bearer() -> Self {
        Self {
            header: Some(TokenHeader::Bearer),
            cookie: false,
            ..Self::cookie()
        }
    }

    /// The header `name`, holding the token alone, and no cookie.
    #[must_use]
    pub fn header(name: HeaderName) -> Self {
        Self {
            header: Some(TokenHeader::Named(name)),
            cookie: false,
            ..Self::cookie()
        }
    }

    /// Reads the session cookie too, when the request carries no token header.
    #[must_use]
    pub fn or_cookie(mut self) -> Self {
        self.cookie = true;
        self
    }

    /// The response header a new token is sent in (default `Session-Token`).
    #[must_use]
    pub fn with_response_header(mut self, name: HeaderName) -> Self {
        self.response = name;
        self
    }

    /// Where the request's token is: the header, if the layer reads one and the request
    /// carries it; else the cookies, if the layer reads them.
    pub(crate) fn find<'a>(&self, headers: &'a HeaderMap) -> Found<'a> {
        let token = match &self.header {
            None => None,
            Some(TokenHeader::Bearer) => headers
                .get_all(AUTHORIZATION)
                .iter()
                .find_map(|value| bearer(value.to_str().ok()?)),
            Some(TokenHeader::Named(name)) => headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim),
        };
        match token {
            Some(token) => Found::Header(Some(token)),
            None if self.cookie => Found::Cookie,
            None => Found::Header(None),
        }
    }

    /// How a request that carries no token is answered: by cookie, if the layer reads one.
    pub(crate) fn default_via(&self) -> Via {
        if self.cookie {
            Via::Cookie
        } else {
            Via::Header
        }
    }

    /// The response header that carries a new token.
    pub(crate) fn response_header(&self) -> &HeaderName {
        &self.response
    }

    /// The request header responses vary by, for a session that came by `via`.
    pub(crate) fn vary(&self, via: Via) -> HeaderValue {
        match (via, &self.header) {
            (Via::Header, Some(TokenHeader::Named(name))) => HeaderValue::from(name.clone()),
            (Via::Header, _) => HeaderValue::from_static("Authorization"),
            (Via::Cookie, _) => HeaderValue::from_static("Cookie"),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (the scheme in any case).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for &(name, value) in pairs {
            headers.append(name, HeaderValue::from_static(value));
        }
        headers
    }

    fn found(transport: &Transport, pairs: &[(&'static str, &'static str)]) -> Option<String> {
        match transport.find(&headers(pairs)) {
            Found::Header(token) => Some(format!("header {token:?}")),
            Found::Cookie => None,
        }
    }

    #[test]
    fn bearer_tokens_are_read_in_any_case_and_other_schemes_are_not() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        for other in ["Basic abc", "Bearer", "Bearer  ", "abc"] {
            assert_eq!(bearer(other), None, "{other}");
        }
    }

    #[test]
    fn the_header_wins_and_cookies_are_read_only_when_allowed() {
        let both = Transport::bearer().or_cookie();
        let with_header = [("authorization", "Bearer t"), ("cookie", "id=c")];
        assert_eq!(
            found(&both, &with_header).as_deref(),
            Some("header Some(\"t\")")
        );
        assert_eq!(found(&both, &[("authorization", "Basic x")]), None);
        assert_eq!(found(&both, &[]), None, "no header: the cookie");
        let only = Transport::header(HeaderName::from_static("x-session"));
        assert_eq!(
            found(&only, &[("cookie", "id=c")]).as_deref(),
            Some("header None")
        );
        assert_eq!(
            found(&only, &[("x-session", " t ")]).as_deref(),
            Some("header Some(\"t\")")
        );
        assert_eq!(found(&Transport::cookie(), &with_header), None);
        assert_eq!(Transport::bearer().default_via(), Via::Header);
        assert_eq!(both.default_via(), Via::Cookie);
    }
}
