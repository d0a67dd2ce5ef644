//! An API client that keeps its session token from the `Session-Token` response header and
//! sends it in `Authorization: Bearer`, as a mobile app would, and never accepts a cookie.

use crate::{Reply, send_request};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

/// A client with a bearer token, talking to a router in-process.
#[derive(Clone, Debug)]
pub struct BearerClient {
    app: Router,
    /// The token held, if any.
    pub token: Option<String>,
    /// Every token the server handed out, in order (an empty one: forget it).
    pub received: Vec<String>,
}

impl BearerClient {
    /// A client without a token.
    pub fn new(app: Router) -> Self {
        Self {
            app,
            token: None,
            received: Vec::new(),
        }
    }

    /// Sends a request with the token, keeps a new one, and fails on any `Set-Cookie`.
    pub async fn send(&mut self, method: Method, path: &str, extra: &[(&str, &str)]) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let reply = send_request(&self.app, request.body(Body::empty()).unwrap()).await;
        assert!(
            reply.set_cookies.is_empty(),
            "a bearer client got a cookie: {:?}",
            reply.set_cookies
        );
        if let Some(token) = reply.headers.get("session-token") {
            let token = token.to_str().unwrap().to_owned();
            self.received.push(token.clone());
            self.token = (!token.is_empty()).then_some(token);
        }
        reply
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, &[]).await
    }

    /// `POST path`, expecting 200.
    pub async fn post(&mut self, path: &str) -> Reply {
        let reply = self.send(Method::POST, path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply
    }
}
