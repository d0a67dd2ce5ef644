//! Keeping shared caches (a CDN, a proxy) from handing one visitor's session to another:
//! a response that sets the session cookie must not be stored, and any response of a
//! request that used its session varies by `Cookie` (Rails CVE-2024-26144, Symfony
//! CVE-2022-24894 and Flask CVE-2023-30861 were this, missing).

use http::header::{CACHE_CONTROL, VARY};
use http::{HeaderMap, HeaderValue};

/// Marks the response of a request that used its session: `Vary: Cookie` (or the header its
/// token came in, `vary`), added beside any `Vary` the handler set; and, when it carries
/// the session's `Set-Cookie` (or a new token), `Cache-Control: no-store` in place of
/// whatever the handler set.
pub(crate) fn mark_private(headers: &mut HeaderMap, vary: HeaderValue, sets_cookie: bool) {
    let varies = headers
        .get_all(VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|field| {
            let field = field.trim();
            field == "*"
                || vary
                    .to_str()
                    .is_ok_and(|vary| field.eq_ignore_ascii_case(vary))
        });
    if !varies {
        headers.append(VARY, vary);
    }
    if sets_cookie {
        let before = headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(before) = before.filter(|before| before != "no-store") {
            tracing::debug!(
                replaced = ?before,
                "Cache-Control replaced with no-store: the response sets the session cookie"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(pairs: &[(&'static str, &'static str)], sets_cookie: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for &(name, value) in pairs {
            headers.append(name, HeaderValue::from_static(value));
        }
        mark_private(
            &mut headers,
            HeaderValue::from_static("Cookie"),
            sets_cookie,
        );
        headers
    }

    fn all(headers: &HeaderMap, name: http::header::HeaderName) -> Vec<&str> {
        let values = headers.get_all(name).iter();
        values.map(|value| value.to_str().unwrap()).collect()
    }

    #[test]
    fn vary_is_added_once_beside_the_handlers() {
        assert_eq!(all(&marked(&[], false), VARY), ["Cookie"]);
        let theirs = marked(&[("vary", "Accept-Encoding")], false);
        assert_eq!(all(&theirs, VARY), ["Accept-Encoding", "Cookie"]);
        for already in ["cookie", "Accept, COOKIE", "*"] {
            assert_eq!(all(&marked(&[("vary", already)], false), VARY), [already]);
        }
    }

    #[test]
    fn no_store_replaces_the_handlers_cache_control_only_with_a_cookie() {
        let public = [("cache-control", "public, s-maxage=600")];
        assert_eq!(all(&marked(&public, false), CACHE_CONTROL), [public[0].1]);
        assert_eq!(all(&marked(&public, true), CACHE_CONTROL), ["no-store"]);
        assert_eq!(all(&marked(&[], true), CACHE_CONTROL), ["no-store"]);
    }
}
