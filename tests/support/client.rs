//! An in-process client that keeps its cookie like a browser, and what a test asks of
//! its replies.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use cookie::Cookie;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A reply, with its `Set-Cookie` parsed.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// Every `Set-Cookie` header.
    pub set_cookies: Vec<Cookie<'static>>,
    /// Every header.
    pub headers: axum::http::HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The one `Set-Cookie`, if any (panics on several: the crate never sends two).
    pub fn set_cookie(&self) -> Option<&Cookie<'static>> {
        assert!(
            self.set_cookies.len() <= 1,
            "several Set-Cookie headers: {:?}",
            self.set_cookies
        );
        self.set_cookies.first()
    }

    /// The body as the demo's JSON view.
    pub fn view(&self) -> crate::View {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends one request to `app`, with `cookie` as the raw `Cookie` header.
pub async fn send(
    app: &Router,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let request = request
        .body(Body::from(body.to_owned()))
        .expect("valid request");
    send_request(app, request).await
}

/// Sends `request` to `app`.
pub async fn send_request(app: &Router, request: Request<Body>) -> Reply {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let set_cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            Cookie::parse(value.to_str().expect("ascii").to_owned()).expect("valid Set-Cookie")
        })
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        set_cookies,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A browser with one cookie jar, talking to a router in-process.
#[derive(Clone, Debug)]
pub struct Client {
    app: Router,
    /// `name=value` of each cookie held.
    pub jar: Vec<(String, String)>,
}

impl Client {
    /// A client with an empty jar.
    pub fn new(app: Router) -> Self {
        Self {
            app,
            jar: Vec::new(),
        }
    }

    /// The `Cookie` header this client sends.
    pub fn cookie_header(&self) -> Option<String> {
        let pairs: Vec<String> = self
            .jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// Sends a request and applies its `Set-Cookie`.
    pub async fn send(&mut self, method: Method, path: &str, body: &str) -> Reply {
        let reply = send(
            &self.app,
            method,
            path,
            self.cookie_header().as_deref(),
            body,
        )
        .await;
        self.keep(&reply);
        reply
    }

    /// Sends a request with `headers` beside the cookies, and applies its `Set-Cookie`.
    pub async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(cookie) = self.cookie_header() {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Body::empty()).expect("valid request");
        let reply = send_request(&self.app, request).await;
        self.keep(&reply);
        reply
    }

    /// Applies `reply`'s `Set-Cookie` to the jar.
    fn keep(&mut self, reply: &Reply) {
        for cookie in &reply.set_cookies {
            self.jar.retain(|(name, _)| name != cookie.name());
            let expired = cookie.max_age().is_some_and(|age| age.is_zero());
            if !expired {
                self.jar
                    .push((cookie.name().to_owned(), cookie.value().to_owned()));
            }
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, "").await
    }

    /// `POST path` with an empty body.
    pub async fn post(&mut self, path: &str) -> Reply {
        self.send(Method::POST, path, "").await
    }
}

impl Client {
    /// The router this client talks to.
    pub fn router(&self) -> &Router {
        &self.app
    }
}

/// `GET /session` on the demo `app` with `cookie` as the `Cookie` header.
pub async fn view_with(app: &Router, cookie: &str) -> crate::View {
    send(app, Method::GET, "/session", Some(cookie), "")
        .await
        .view()
}

impl Client {
    /// Asserts that `reply` to a session route is the layer's answer to a store that is
    /// down (503, and no cookie, so the browser keeps its session), and that a route
    /// without a session still answers.
    pub async fn assert_store_down(&mut self, reply: &Reply) {
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.body
        );
        assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
        assert_eq!(
            self.get("/health").await.status,
            StatusCode::OK,
            "routes without sessions are unaffected"
        );
    }
}

impl Client {
    /// Sends `method path` during a network partition: it must answer within `bound` (a
    /// timeout, not the partition's length, holds it), with [`Client::assert_store_down`].
    pub async fn assert_store_down_within(
        &mut self,
        bound: std::time::Duration,
        method: Method,
        path: &str,
    ) {
        let reply = tokio::time::timeout(bound, self.send(method, path, ""))
            .await
            .expect("answers during the partition instead of hanging");
        self.assert_store_down(&reply).await;
    }

    /// Sends `method path` every 100 ms until it succeeds, for up to 5 s (a store that was
    /// down and is coming back): the first successful reply, or `None`.
    pub async fn until_success(&mut self, method: Method, path: &str) -> Option<Reply> {
        for _ in 0..50 {
            let reply = self.send(method.clone(), path, "").await;
            if reply.status.is_success() {
                return Some(reply);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    }
}
