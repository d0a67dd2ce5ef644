//! Everything about the session cookie: reading it from `Cookie` headers, building its
//! `Set-Cookie`, checking its name and attributes, and what its value holds: a signed id
//! ([`signed_id`]) or the whole session, sealed or signed ([`codec`], on [`crate::crypto::aead`]).
//!
//! Parsing and building go through the `cookie` crate; this module only decides which
//! cookie is the session's and which attributes it carries.

mod backend;
pub(crate) mod codec;
mod insecure;
pub(crate) mod signed_id;

pub use backend::CookieBackend;
pub(crate) use backend::Sealing;
pub(crate) use insecure::{insecure_host, warn_dropped};

use cookie::{Cookie, SameSite};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use std::borrow::Cow;
use std::fmt::Write;
use std::time::Duration;

/// The session cookie's name and attributes.
#[derive(Clone, Debug)]
pub(crate) struct CookieConfig {
    pub(crate) name: Cow<'static, str>,
    pub(crate) path: Cow<'static, str>,
    pub(crate) domain: Option<Cow<'static, str>>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    /// The `Partitioned` attribute (CHIPS): the cookie is kept per top-level site.
    pub(crate) partitioned: bool,
    /// `None`: a browser-session cookie.
    pub(crate) max_age: Option<Duration>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            name: Cow::Borrowed("id"),
            path: Cow::Borrowed("/"),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            partitioned: false,
            max_age: None,
        }
    }
}

impl CookieConfig {
    /// Whether the cookie goes out `Secure`: as set, or because its name's prefix or
    /// `Partitioned` requires it.
    pub(crate) fn is_secure(&self) -> bool {
        self.secure
            || self.partitioned
            || self.name.starts_with("__Host-")
            || self.name.starts_with("__Secure-")
    }

    /// The `Set-Cookie` value carrying `value` with the layer's `Max-Age`, or expiring the
    /// cookie when `None`.
    pub(crate) fn set_cookie(&self, value: Option<&str>) -> HeaderValue {
        self.set_cookie_lasting(value, self.max_age)
    }

    /// The `Set-Cookie` value carrying `value` with `max_age` (none: a cookie that ends with
    /// the browser session), or expiring the cookie when `None`.
    ///
    /// The name's prefix wins over the other settings, since browsers drop a prefixed
    /// cookie that breaks its rules: `__Host-` is always `Secure`, `Path=/` and without
    /// `Domain`; `__Secure-` is always `Secure`. So is a `Partitioned` cookie.
    pub(crate) fn set_cookie_lasting(
        &self,
        value: Option<&str>,
        max_age: Option<Duration>,
    ) -> HeaderValue {
        let host_only = self.name.starts_with("__Host-");
        let secure = self.is_secure();
        let path = if host_only { "/" } else { self.path.as_ref() };
        let mut cookie = Cookie::build((self.name.as_ref(), value.unwrap_or_default()))
            .path(path)
            .secure(secure)
            .http_only(self.http_only)
            .same_site(self.same_site)
            .partitioned(self.partitioned);
        if let Some(domain) = self.domain.as_ref().filter(|_| !host_only) {
            cookie = cookie.domain(domain.as_ref());
        }
        let max_age = if value.is_some() {
            max_age
        } else {
            Some(Duration::ZERO)
        };
        if let Some(max_age) = max_age {
            let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
        }
        // Written into one buffer of about the right size, which becomes the header as is.
        let mut header = String::with_capacity(
            self.name.len()
                + value.map_or(0, str::len)
                + self.path.len()
                + self.domain.as_ref().map_or(0, |domain| domain.len())
                + 80,
        );
        write!(header, "{}", cookie.build()).expect("a String takes any write");
        // Name, path and domain were checked when the layer was built; values are base64url.
        HeaderValue::try_from(header).expect("session cookies are valid header values")
    }
}

/// The values of every cookie called `name` in the request, in order. Unparsable pairs are
/// skipped, each alone: the header is split into pairs as bytes, so another cookie that is
/// not ASCII (`theme=café`, as scripts and sibling subdomains set) or not even UTF-8 costs
/// only itself, not the session.
pub(crate) fn cookie_values<'a>(
    name: &'a str,
    headers: &'a HeaderMap,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|&byte| byte == b';'))
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter_map(|pair| cookie::Cookie::parse(pair).ok())
        .filter(move |cookie| cookie.name() == name)
        .filter_map(|cookie| cookie.value_raw())
}

/// A valid cookie name: an RFC 6265 token.
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// A valid `Path` or `Domain` value: printable ASCII without `;`.
pub(crate) fn is_attribute_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b' '..0x7f).contains(&b) && b != b';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_attributes_are_checked() {
        assert!(is_token("id") && is_token("__Host-sid"));
        for bad in ["", "a b", "a;b", "a=b", "é"] {
            assert!(!is_token(bad), "{bad:?}");
        }
        assert!(is_attribute_value("/app") && is_attribute_value("example.com"));
        assert!(!is_attribute_value("/a;b") && !is_attribute_value("/a\nb"));
    }

    #[test]
    fn set_cookie_carries_the_attributes_and_expires_with_none() {
        let config = CookieConfig {
            domain: Some("example.com".into()),
            secure: true,
            max_age: Some(Duration::from_secs(60)),
            ..CookieConfig::default()
        };
        let set = config.set_cookie(Some("v"));
        let set = set.to_str().unwrap();
        for part in [
            "id=v",
            "Path=/",
            "Domain=example.com",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=60",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        let expired = config.set_cookie(None);
        assert!(expired.to_str().unwrap().contains("Max-Age=0"));
    }
}
