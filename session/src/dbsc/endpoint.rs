//! The two DBSC endpoints: [`Registration`], which binds the session to the key a browser
//! proves it holds, and [`Refresh`], which hands out challenges and, for a proof of the
//! bound key, the next bound cookie. Each is a service to mount at the path the layer's
//! [`DeviceBinding`](super::DeviceBinding) names, inside the session layer.

use crate::device::headers::{challenge_header, text_item};
use crate::device::proof::{self, ProofError};
use crate::device::state::DeviceSlot;
use crate::error::SessionRejection;
use crate::layer::RequestExtension;
use crate::request::RequestSession;
use crate::time::unix_ms;
use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::SystemTime;
use tower_service::Service;

const RESPONSE: &str = "secure-session-response";
const SESSION_ID: &str = "sec-secure-session-id";
/// The longest DBSC session identifier read (this crate makes 22-character ones).
const MAX_ID_LEN: usize = 64;

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// The registration endpoint (`/dbsc/start` by default): the browser posts the proof
/// (`Secure-Session-Response`) that signs the challenge of the layer's offer with its new
/// key. A valid one binds the session to the key and sets the first bound cookie; the
/// answer is the session instructions, in JSON. A proof that does not check out, or a
/// request without a session, gets a 400.
#[derive(Clone, Copy, Debug, Default)]
pub struct Registration;

/// The refresh endpoint (`/dbsc/refresh` by default). Without a proof it answers 403 with
/// a fresh challenge (`Secure-Session-Challenge`); with a proof that signs an unused,
/// unexpired challenge with the session's key it sets the next bound cookie. A session
/// that has ended (logged out, revoked, expired) or is not bound gets
/// `{"continue": false}`, which ends the browser's DBSC session.
#[derive(Clone, Copy, Debug, Default)]
pub struct Refresh;

/// Each endpoint is a service answering from the request's head alone (the body, empty,
/// is not read), with `$answer`.
macro_rules! endpoint_service {
    ($endpoint:ty, $answer:path) => {
        impl<B: Send + 'static> Service<Request<B>> for $endpoint {
            type Response = Response;
            type Error = Infallible;
            type Future = Answer;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: Request<B>) -> Answer {
                let (parts, _) = request.into_parts();
                Box::pin(async move { Ok($answer(parts).await) })
            }
        }
    };
}

endpoint_service!(Registration, register);
endpoint_service!(Refresh, refresh);

/// The request's session, loaded without asking for a bound cookie: these endpoints prove
/// the device their own way.
async fn session_of(parts: &Parts) -> Result<Arc<RequestSession>, Response> {
    let Some(RequestExtension(session)) = parts.extensions.get::<RequestExtension>().cloned()
    else {
        return Err(SessionRejection::MissingLayer.into_response());
    };
    if session.config.device_binding.is_none() {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "device binding is not configured on the session layer",
        ));
    }
    session.exempt_from_device_proof();
    if let Err(error) = session.ready(&parts.headers).await {
        let status = error.status(session.config.statuses);
        return Err(error.respond(status));
    }
    Ok(session)
}

fn refused(status: StatusCode, why: &'static str) -> Response {
    tracing::debug!(%status, why, "DBSC request refused");
    let mut response = Response::new(Body::from(why));
    *response.status_mut() = status;
    response
}

fn bad_proof(error: ProofError) -> Response {
    tracing::debug!(%error, "DBSC proof refused");
    refused(StatusCode::BAD_REQUEST, "invalid DBSC proof")
}

async fn register(parts: Parts) -> Response {
    let session = match session_of(&parts).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if session.is_new() {
        return refused(StatusCode::BAD_REQUEST, "no session to bind");
    }
    let Some(jwt) = text_item(&parts.headers, RESPONSE, proof::MAX_LEN) else {
        return refused(StatusCode::BAD_REQUEST, "no DBSC proof");
    };
    let proof = match proof::verify(&jwt, None) {
        Ok(proof) => proof,
        Err(error) => return bad_proof(error),
    };
    let now = SystemTime::now();
    let id = crate::device::random_token();
    let bound = Arc::new(AtomicBool::new(false));
    let (answered, key) = (Arc::clone(&bound), proof.key);
    let (jti, new_id) = (proof.jti, id.clone());
    let early = Challenge::ahead(&session);
    let next = early.clone();
    // Replayed on the stored record if another request changed it meanwhile: a challenge
    // another request took first binds nothing.
    session.fields::<DeviceSlot>().update(0, move |slot| {
        let taken = slot.device.take(&jti, unix_ms(now));
        if taken {
            slot.device.id = Some(new_id.clone());
            slot.device.key = Some(key.clone());
            slot.device.bound_at_ms = unix_ms(now);
            next.offer(&mut slot.device, now);
        }
        answered.store(taken, Ordering::Relaxed);
    });
    if let Err(error) = session.commit(now).await {
        return error.respond(error.status(session.config.statuses));
    }
    if !bound.load(Ordering::Relaxed) {
        return refused(
            StatusCode::BAD_REQUEST,
            "unknown, expired or used challenge",
        );
    }
    tracing::info!("session bound to a device key (DBSC)");
    instructions(&session, &id, now, &early)
}

async fn refresh(parts: Parts) -> Response {
    let session = match session_of(&parts).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let device = session
        .fields::<DeviceSlot>()
        .read(|slot| slot.device.clone());
    let claimed = text_item(&parts.headers, SESSION_ID, MAX_ID_LEN);
    let Some((id, key)) = device
        .bound()
        .filter(|(id, _)| claimed.as_deref() == Some(*id))
    else {
        // Ended, never bound, or another DBSC session: the browser drops its own.
        return ended();
    };
    let (id, key) = (id.to_owned(), key.clone());
    let now = SystemTime::now();
    let Some(jwt) = text_item(&parts.headers, RESPONSE, proof::MAX_LEN) else {
        return challenge(&session, &id, now).await;
    };
    let proof = match proof::verify(&jwt, Some(&key)) {
        Ok(proof) => proof,
        Err(error) => return bad_proof(error),
    };
    let answered = Arc::new(AtomicBool::new(false));
    let took = Arc::clone(&answered);
    let early = Challenge::ahead(&session);
    let next = early.clone();
    session.fields::<DeviceSlot>().update(0, move |slot| {
        let taken = slot.device.take(&proof.jti, unix_ms(now));
        if taken {
            next.offer(&mut slot.device, now);
        }
        took.store(taken, Ordering::Relaxed);
    });
    if let Err(error) = session.commit(now).await {
        return error.respond(error.status(session.config.statuses));
    }
    if !answered.load(Ordering::Relaxed) {
        // A replayed or stale proof: a new challenge, which only the key can sign.
        tracing::debug!("DBSC proof for an unknown, expired or used challenge");
        return challenge(&session, &id, now).await;
    }
    instructions(&session, &id, now, &early)
}

/// A 403 with a fresh challenge for DBSC session `id`, kept in the record.
async fn challenge(session: &RequestSession, id: &str, now: SystemTime) -> Response {
    let challenge = Challenge::asked(session);
    let offered = challenge.clone();
    session.fields::<DeviceSlot>().update(0, move |slot| {
        offered.offer(&mut slot.device, now);
    });
    if let Err(error) = session.commit(now).await {
        return error.respond(error.status(session.config.statuses));
    }
    let mut response = refused(StatusCode::FORBIDDEN, "sign the challenge");
    if let Some(header) = challenge.header(id) {
        response
            .headers_mut()
            .insert("secure-session-challenge", header);
    }
    response
}

/// `{"continue": false}`: the browser ends its DBSC session.
fn ended() -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({ "continue": false }).to_string(),
    )
}

fn json(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A challenge to keep in the record (by its hash) and send as `Secure-Session-Challenge`.
#[derive(Clone)]
struct Challenge {
    text: String,
    lasts: std::time::Duration,
}

impl Challenge {
    /// One a refresh without a proof asked for: answerable for the challenge lifetime.
    fn asked(session: &RequestSession) -> Self {
        Self::lasting(settings(session).binding.challenge_lifetime)
    }

    /// The one for the next refresh, sent ahead with the bound cookie it replaces:
    /// Chromium keeps it and signs it when that cookie runs out, so a refresh is one
    /// request, not a 403 and a second one. Answerable for the bound cookie's lifetime plus
    /// the challenge lifetime.
    fn ahead(session: &RequestSession) -> Self {
        let binding = &settings(session).binding;
        Self::lasting(binding.lifetime + binding.challenge_lifetime)
    }

    fn lasting(lasts: std::time::Duration) -> Self {
        Self {
            text: crate::device::random_token(),
            lasts,
        }
    }

    /// Keeps it in `device`, among the challenges waiting.
    fn offer(&self, device: &mut crate::device::state::Device, now: SystemTime) {
        device.offer(&self.text, unix_ms(now + self.lasts), unix_ms(now));
    }

    /// Its header, naming DBSC session `id`.
    fn header(&self, id: &str) -> Option<HeaderValue> {
        challenge_header(&self.text, id)
    }
}

/// The session's DBSC settings: there, or the endpoint would not have been reached.
fn settings(session: &RequestSession) -> &crate::device::DeviceSettings {
    session
        .config
        .device_binding
        .as_ref()
        .expect("checked on entry")
}

/// The session instructions for DBSC session `id`, with the next bound cookie and the
/// challenge for the refresh after it.
fn instructions(
    session: &RequestSession,
    id: &str,
    now: SystemTime,
    early: &Challenge,
) -> Response {
    let settings = settings(session);
    let binding = &settings.binding;
    let cookie = &settings.cookie;
    let body = serde_json::json!({
        "session_identifier": id,
        "refresh_url": binding.refresh_path,
        "scope": { "include_site": false, "scope_specification": [] },
        "credentials": [{
            "type": "cookie",
            "name": cookie.name,
            "attributes": settings.attributes,
        }],
    });
    let mut response = json(StatusCode::OK, body.to_string());
    let expires_ms = unix_ms(now + binding.lifetime);
    let value = settings.cookies.sign(&cookie.name, id, expires_ms);
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, cookie.set_cookie(Some(&value)));
    if let Some(header) = early.header(id) {
        headers.insert("secure-session-challenge", header);
    }
    response
}
