//! A `Secure` cookie sent in reply to a plain-HTTP request: the browser drops it, so the
//! session never sticks and a login fails at its CSRF check with nothing said. Browsers make
//! an exception for `localhost` (a secure context), so this bites first on another host:
//! a phone on the LAN, a staging box. Said once per process, as a WARN naming the fixes.

use http::HeaderMap;
use http::header::HOST;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

/// The WARN was logged: once per process is enough to find the cause.
static WARNED: AtomicBool = AtomicBool::new(false);

/// The `Host` of a request that came over plain HTTP, as far as the request shows, for a
/// host a browser does not treat as a secure context; `None` once the WARN was logged.
///
/// Asked only of requests that brought no session (a browser that keeps the cookie needs
/// no warning), so requests of live sessions pay nothing for it. TLS that ends at a proxy
/// is seen through `X-Forwarded-Proto: https` or `Forwarded: proto=https`; a proxy that
/// sends neither makes the request look like plain HTTP.
pub(crate) fn insecure_host(headers: &HeaderMap) -> Option<&str> {
    if WARNED.load(Ordering::Relaxed) {
        return None;
    }
    let host = headers.get(HOST)?.to_str().ok()?;
    if is_local(host) || forwarded_https(headers) {
        return None;
    }
    Some(host)
}

/// Logs, once per process, why a browser will drop the `Secure` cookie sent to `host`.
pub(crate) fn warn_dropped(host: &str, cookie: &str) {
    if WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    tracing::warn!(
        host,
        cookie,
        "sent the Secure session cookie in reply to a plain-HTTP request for a host other than localhost: \
         the browser drops it, so the session will not stick (a login then fails its CSRF check). \
         Serve the site over HTTPS; behind a TLS proxy, have it send `X-Forwarded-Proto: https`; \
         for plain HTTP in development only, `SessionLayer::with_secure(false)`. Logged once."
    );
}

/// `localhost`, a name under it, or a loopback address: browsers keep `Secure` cookies
/// from these over plain HTTP.
fn is_local(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:3000`
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    let name = name.trim_end_matches('.');
    name.eq_ignore_ascii_case("localhost")
        || name
            .get(name.len().saturating_sub(".localhost".len())..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A proxy in front says the client's request came over HTTPS.
fn forwarded_https(headers: &HeaderMap) -> bool {
    let says_https = |value: &str| value.trim().eq_ignore_ascii_case("https");
    let forwarded_proto = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').next().is_some_and(says_https));
    forwarded_proto
        || headers
            .get_all("forwarded")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split([',', ';']))
            .filter_map(|pair| pair.split_once('='))
            .any(|(name, value)| {
                name.trim().eq_ignore_ascii_case("proto") && says_https(value.trim_matches('"'))
            })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn localhost_and_loopback_are_secure_contexts() {
        for host in [
            "localhost",
            "localhost:3000",
            "LOCALHOST.",
            "app.localhost:8080",
            "127.0.0.1:3000",
            "127.8.9.1",
            "[::1]:3000",
        ] {
            assert!(is_local(host), "{host}");
        }
        for host in [
            "192.168.1.20:3000",
            "example.com",
            "localhost.example.com",
            "[2001:db8::1]:80",
            "notlocalhost",
        ] {
            assert!(!is_local(host), "{host}");
        }
    }

    #[test]
    fn a_proxy_can_say_the_request_was_https() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("example.com"));
        assert!(!forwarded_https(&headers));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS, http"));
        assert!(forwarded_https(&headers));
        headers.remove("x-forwarded-proto");
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=192.0.2.60;proto=\"https\";by=203.0.113.43"),
        );
        assert!(forwarded_https(&headers));
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=192.0.2.60;proto=http"),
        );
        assert!(!forwarded_https(&headers));
    }
}
