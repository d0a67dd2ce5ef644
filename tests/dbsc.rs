//! Device-bound sessions (DBSC) in process, on every server store and both cookie stores:
//! registration, refresh, a thief's copied cookies, replayed proofs, log out everywhere,
//! browsers without DBSC, and every malformed proof answered 400, never 500.

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use std::time::SystemTime;
use typed_sessions::Owner;
use typed_sessions::dbsc::{
    DeviceBinding, Refresh, Registration, RequireDeviceBindingLayer, Unproven,
};
use typed_sessions::store::{
    BoxFuture, SaveOutcome, StorageKey, Store, StoreError, StoredRecord, Version,
};
use typed_sessions::test::{DbscDevice, challenge_of, registration_offer, response_header};
use typed_sessions::{Session, SessionLayer};
use typed_sessions_tests::{Client, Reply, StoreKind, every_server_store, key};

#[derive(Session, Default, serde::Serialize, serde::Deserialize)]
struct Visits {
    count: u64,
}

async fn login(session: Session<Visits>) {
    session.bind_owner("ada").expect("an owner");
}

async fn visit(session: Session<Visits>) -> String {
    session.update_count(|n| *n += 1);
    session.count().to_string()
}

async fn show(session: Session<Visits>) -> String {
    let bound = if session.is_device_bound() {
        "bound"
    } else {
        "unbound"
    };
    format!("{} {bound}", session.count())
}

async fn everywhere(session: Session<Visits>) -> StatusCode {
    match session.log_out_everywhere().await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// A bound cookie lives `lifetime`; no registration grace, so that a request without one
/// is refused at once.
fn binding(lifetime: Duration) -> DeviceBinding {
    DeviceBinding::new()
        .with_bound_cookie("bound")
        .with_bound_cookie_lifetime(lifetime)
        .with_registration_grace(Duration::ZERO)
}

fn app(layer: SessionLayer) -> Router {
    let admin = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireDeviceBindingLayer);
    Router::new()
        .route("/login", post(login))
        .route("/visit", post(visit))
        .route("/session", get(show))
        .route("/logout-everywhere", post(everywhere))
        .route_service("/dbsc/start", Registration)
        .route_service("/dbsc/refresh", Refresh)
        .merge(admin)
        .layer(layer)
}

/// Every kind of store: each server store, and both cookie stores with a revocation store
/// (so that "log out everywhere" reaches them).
async fn layers(dir: &tempfile::TempDir) -> Vec<(String, SessionLayer)> {
    let mut layers = Vec::new();
    for kind in StoreKind::ALL {
        let mut layer = kind.layer(dir).await;
        if !kind.is_server() {
            layer = layer.with_revocation_store(typed_sessions::MemoryStore::new());
        }
        layers.push((format!("{kind:?}"), layer));
    }
    layers
}

/// A DBSC browser: a cookie jar, and a device key.
struct Browser {
    client: Client,
    device: DbscDevice,
    session: Option<String>,
}

impl Browser {
    fn new(app: Router) -> Self {
        Self {
            client: Client::new(app),
            device: DbscDevice::new(),
            session: None,
        }
    }

    /// Its cookies but the bound one: a copy of the session cookie alone, or what a request
    /// sent before the first bound cookie came carries.
    fn without_bound_cookie(&self) -> Vec<(String, String)> {
        let jar = self.client.jar.iter();
        jar.filter(|(name, _)| name != "bound").cloned().collect()
    }

    /// The challenge an answer sent ahead for the next refresh, checked to name this
    /// browser's DBSC session.
    fn challenge_ahead(&self, reply: &Reply) -> String {
        let header = header(reply, "secure-session-challenge").expect("a challenge ahead");
        let (challenge, named) = challenge_of(&header).expect("a valid challenge");
        assert_eq!(Some(named), self.session);
        challenge
    }

    /// Logs in and, as a browser with DBSC does, registers with the offer it gets.
    async fn log_in_and_register(&mut self) -> Value {
        self.register().await.0
    }

    /// `log_in_and_register`, with the registration's answer.
    async fn register(&mut self) -> (Value, Reply) {
        let reply = self.client.post("/login").await;
        let offer = header(&reply, "secure-session-registration").expect("an offer on login");
        let (path, challenge) = registration_offer(&offer).expect("an ES256 offer");
        let proof = self.device.registration_proof(&challenge);
        let reply = post_proof(&mut self.client, &path, &proof).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let instructions: Value = serde_json::from_str(&reply.body).expect("instructions");
        self.session = Some(
            instructions["session_identifier"]
                .as_str()
                .expect("an id")
                .to_owned(),
        );
        (instructions, reply)
    }

    /// Refreshes as a browser does: asks, gets a challenge, signs it.
    async fn refresh(&mut self) -> Reply {
        let ask = self.ask().await;
        if ask.status != StatusCode::FORBIDDEN {
            return ask;
        }
        let answer = self.answer(&self.challenge_in(&ask));
        self.post_with("/dbsc/refresh", &answer).await
    }

    /// Its DBSC session, as `Sec-Secure-Session-Id` names it: bare, as Chromium sends it
    /// (the demo's test sends the spec's structured-field string).
    fn named(&self) -> (&'static str, String) {
        let id = self.session.as_deref().expect("registered");
        ("sec-secure-session-id", id.to_owned())
    }

    /// Asks the refresh endpoint for a challenge, as a refresh starts.
    async fn ask(&mut self) -> Reply {
        let named = self.named();
        self.post_with("/dbsc/refresh", &[named]).await
    }

    /// The challenge `ask`, a 403, carries for this browser's DBSC session.
    fn challenge_in(&self, ask: &Reply) -> String {
        assert_eq!(ask.status, StatusCode::FORBIDDEN, "{}", ask.body);
        let header = header(ask, "secure-session-challenge").expect("a challenge");
        let (challenge, named) = challenge_of(&header).expect("a valid challenge");
        assert_eq!(Some(named), self.session);
        challenge
    }

    /// The headers of a refresh that answers `challenge` with this device's key.
    fn answer(&self, challenge: &str) -> [(&'static str, String); 2] {
        let proof = self.device.refresh_proof(challenge);
        [
            self.named(),
            ("secure-session-response", response_header(&proof)),
        ]
    }

    async fn post_with(&mut self, path: &str, headers: &[(&str, String)]) -> Reply {
        self.client.send_with(Method::POST, path, headers).await
    }
}

/// Posts `proof` to `path` as `Secure-Session-Response`, bare, as Chromium sends it;
/// refreshes (`Browser::answer`) send the spec's structured-field string.
async fn post_proof(client: &mut Client, path: &str, proof: &str) -> Reply {
    let headers = [("secure-session-response", proof.to_owned())];
    client.send_with(Method::POST, path, &headers).await
}

fn header(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get(name)
        .map(|value| value.to_str().expect("ascii").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_session_refreshes_and_copied_cookies_die_with_the_bound_cookie_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, layer) in layers(&dir).await {
        let app = app(layer.with_device_binding(binding(Duration::from_secs(2))));
        let mut browser = Browser::new(app.clone());
        let instructions = browser.log_in_and_register().await;
        assert_eq!(instructions["refresh_url"], "/dbsc/refresh", "{name}");
        assert_eq!(instructions["credentials"][0]["name"], "bound", "{name}");
        assert!(
            browser.client.cookie("bound").is_some(),
            "{name}: the first bound cookie"
        );
        assert_eq!(browser.client.post("/visit").await.body, "1", "{name}");
        assert_eq!(
            browser.client.get("/session").await.body,
            "1 bound",
            "{name}"
        );
        assert_eq!(
            browser.client.get("/admin").await.status,
            StatusCode::OK,
            "{name}"
        );

        // A thief copies both cookies: they work only until the bound cookie expires.
        let mut thief = Client::new(app.clone());
        thief.jar = browser.client.jar.clone();
        assert_eq!(thief.get("/session").await.status, StatusCode::OK, "{name}");
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let stolen = thief.get("/session").await;
        assert_eq!(
            stolen.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            stolen.body
        );
        // Without the key, no refresh: the thief's proof is its own key's.
        let mut impostor = Browser::new(app.clone());
        impostor.client.jar = thief.jar.clone();
        impostor.session = browser.session.clone();
        let refused = impostor.refresh().await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            refused.body
        );
        assert_eq!(
            impostor.client.get("/session").await.status,
            StatusCode::UNAUTHORIZED,
            "{name}"
        );

        // The browser, expired too, refreshes with its key and goes on.
        assert_eq!(
            browser.client.get("/session").await.status,
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
        let refreshed = browser.refresh().await;
        assert_eq!(
            refreshed.status,
            StatusCode::OK,
            "{name}: {}",
            refreshed.body
        );
        assert_eq!(browser.client.post("/visit").await.body, "2", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_proof_or_challenge_is_refused_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, layer) in layers(&dir).await {
        let app = app(layer.with_device_binding(binding(Duration::from_secs(60))));
        let mut browser = Browser::new(app);
        browser.log_in_and_register().await;
        let ask = browser.ask().await;
        let headers = browser.answer(&browser.challenge_in(&ask));
        let jar = browser.client.jar.clone();
        assert_eq!(
            browser.post_with("/dbsc/refresh", &headers).await.status,
            StatusCode::OK,
            "{name}"
        );
        browser.client.jar = jar;
        let replay = browser.post_with("/dbsc/refresh", &headers).await;
        if name.ends_with("Cookie") {
            // A cookie session keeps its challenges in the cookie: the earlier cookie still
            // holds the one used, and the proof made for it is taken again (README and
            // SECURITY.md say so).
            assert_eq!(replay.status, StatusCode::OK, "{name}");
            continue;
        }
        // The same proof again, from the same state of the browser: a new challenge.
        assert_eq!(
            replay.status,
            StatusCode::FORBIDDEN,
            "{name}: {}",
            replay.body
        );
        assert!(
            header(&replay, "secure-session-challenge").is_some(),
            "{name}"
        );
        assert!(
            replay.headers.get("set-cookie").is_none(),
            "{name}: no bound cookie"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_after_log_out_everywhere_ends_the_session_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (name, layer) in layers(&dir).await {
        let app = app(layer.with_device_binding(binding(Duration::from_secs(60))));
        let mut browser = Browser::new(app.clone());
        browser.log_in_and_register().await;
        let mut other = Browser::new(app);
        other.log_in_and_register().await;
        assert_eq!(
            other.client.post("/logout-everywhere").await.status,
            StatusCode::OK,
            "{name}"
        );
        let refreshed = browser.refresh().await;
        assert_eq!(refreshed.status, StatusCode::OK, "{name}");
        let body: Value = serde_json::from_str(&refreshed.body).expect("json");
        assert_eq!(body, json!({ "continue": false }), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_without_dbsc_keeps_its_session_and_is_kept_out_of_bound_only_routes() {
    let dir = tempfile::tempdir().unwrap();
    for (name, layer) in layers(&dir).await {
        let app = app(layer.with_device_binding(binding(Duration::from_secs(60))));
        let mut client = Client::new(app);
        let login = client.post("/login").await;
        assert!(
            header(&login, "secure-session-registration").is_some(),
            "{name}"
        );
        // It ignores the offer.
        assert_eq!(client.post("/visit").await.body, "1", "{name}");
        assert_eq!(client.get("/session").await.body, "1 unbound", "{name}");
        assert_eq!(
            client.get("/admin").await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_unproven_request_can_be_served_as_a_new_visitor() {
    let layer = SessionLayer::new(typed_sessions::MemoryStore::new(), &key());
    let unproven = binding(Duration::from_secs(60)).with_unproven(Unproven::NewVisitor);
    let app = app(layer.with_device_binding(unproven));
    let mut browser = Browser::new(app.clone());
    browser.log_in_and_register().await;
    assert_eq!(browser.client.post("/visit").await.body, "1");
    let mut thief = Client::new(app);
    thief.jar = browser.without_bound_cookie();
    assert_eq!(thief.get("/session").await.body, "0 unbound");
    assert_eq!(
        browser.client.get("/session").await.body,
        "1 bound",
        "the session is untouched"
    );
}

/// The challenge for the next refresh comes ahead, on the registration's answer and on each
/// refresh's (Chromium keeps it): a refresh that signs it is one request, with no 403
/// first; each such challenge answers once.
#[tokio::test]
async fn the_next_challenge_comes_ahead_and_a_refresh_signing_it_is_one_request() {
    let layer = SessionLayer::new(typed_sessions::MemoryStore::new(), &key());
    let app = app(layer.with_device_binding(binding(Duration::from_secs(60))));
    let mut browser = Browser::new(app);
    let (_, registered) = browser.register().await;
    let ahead = browser.challenge_ahead(&registered);
    let answer = browser.answer(&ahead);
    let refreshed = browser.post_with("/dbsc/refresh", &answer).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let next = browser.challenge_ahead(&refreshed);
    assert_ne!(next, ahead);
    let replayed = browser.post_with("/dbsc/refresh", &answer).await;
    assert_eq!(replayed.status, StatusCode::FORBIDDEN, "answered once");
    let answer = browser.answer(&next);
    let refreshed = browser.post_with("/dbsc/refresh", &answer).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
}

/// A request the browser sent while it registered, before the first bound cookie came (as
/// Chromium 156 follows the login's redirect): served within the registration grace; a
/// bound cookie that is sent and invalid is refused even then; after the grace, refused.
#[tokio::test]
async fn requests_sent_while_the_browser_registers_are_served_within_the_grace() {
    let layer = SessionLayer::new(typed_sessions::MemoryStore::new(), &key());
    let grace = binding(Duration::from_secs(60)).with_registration_grace(Duration::from_secs(1));
    let app = app(layer.with_device_binding(grace));
    let mut browser = Browser::new(app.clone());
    browser.log_in_and_register().await;
    let mut in_flight = Client::new(app.clone());
    in_flight.jar = browser.without_bound_cookie();
    assert_eq!(in_flight.get("/session").await.body, "0 bound");
    let mut forged = Client::new(app);
    forged.jar = in_flight.jar.clone();
    forged.jar.push(("bound".to_owned(), "AQAAAA".to_owned()));
    assert_eq!(
        forged.get("/session").await.status,
        StatusCode::UNAUTHORIZED
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        in_flight.get("/session").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(browser.client.get("/session").await.body, "0 bound");
}

/// Proofs a server must refuse, each with a 400 and never a 500: malformed, the wrong
/// type, `none` and HS256, a key that did not sign, an oversized one, and an unknown
/// challenge.
#[tokio::test]
async fn malformed_and_forged_proofs_are_refused_with_400() {
    let layer = SessionLayer::new(typed_sessions::MemoryStore::new(), &key());
    let app = app(layer.with_device_binding(binding(Duration::from_secs(60))));
    let mut client = Client::new(app);
    let login = client.post("/login").await;
    let (path, challenge) =
        registration_offer(&header(&login, "secure-session-registration").unwrap()).unwrap();
    let device = DbscDevice::new();
    let other = DbscDevice::new();
    let b64 = |value: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let claims = json!({ "jti": challenge });
    let mut wrong_key_header = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": other.jwk() });
    let proofs = vec![
        ("empty", String::new()),
        ("garbage", "not a jwt".into()),
        ("two parts", "a.b".into()),
        ("four parts", "a.b.c.d".into()),
        ("bad base64", "!!!.???.###".into()),
        (
            "none",
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "none", "typ": "dbsc+jwt" })),
                b64(&claims)
            ),
        ),
        (
            "HS256",
            device.sign(
                &json!({ "alg": "HS256", "typ": "dbsc+jwt", "jwk": device.jwk() }),
                &claims,
            ),
        ),
        (
            "no typ",
            device.sign(&json!({ "alg": "ES256", "jwk": device.jwk() }), &claims),
        ),
        (
            "no key",
            device.sign(&json!({ "alg": "ES256", "typ": "dbsc+jwt" }), &claims),
        ),
        ("another key", device.sign(&wrong_key_header, &claims)),
        (
            "unknown challenge",
            device.registration_proof("never offered"),
        ),
        ("not json claims", {
            let proof = device.registration_proof(&challenge);
            let parts: Vec<&str> = proof.split('.').collect();
            format!("{}.bm90IGpzb24.{}", parts[0], parts[2])
        }),
        ("oversized", "a".repeat(64 * 1024)),
    ];
    wrong_key_header["typ"] = json!("dbsc+jwt");
    for (what, proof) in proofs {
        let reply = post_proof(&mut client, &path, &proof).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            reply.body
        );
    }
    for (what, value) in [
        ("not a string", "abc".to_owned()),
        ("two values", "\"a\", \"b\"".into()),
        ("no header", String::new()),
    ] {
        let headers: Vec<(&str, String)> = if value.is_empty() {
            vec![]
        } else {
            vec![("secure-session-response", value)]
        };
        let reply = client.send_with(Method::POST, &path, &headers).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
    }
    // The genuine proof still registers: none of the above used the challenge up.
    let genuine = device.registration_proof(&challenge);
    let reply = post_proof(&mut client, &path, &genuine).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // A registration without a session, and a refresh with an unknown session id.
    let mut stranger = Client::new(client.router().clone());
    let reply = post_proof(&mut stranger, &path, &genuine).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = client
        .send_with(
            Method::POST,
            "/dbsc/refresh",
            &[("sec-secure-session-id", "\"nope\"".into())],
        )
        .await;
    assert_eq!(reply.body, json!({ "continue": false }).to_string());
}

/// An RS256 device: the browser's side with an RSA key (a test key, made with `openssl
/// genrsa 2048 | openssl pkcs8 -topk8 -nocrypt -outform DER`).
fn rs256_proof(header: &Value, claims: &Value) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let pair =
        RsaKeyPair::from_pkcs8(include_bytes!("data/dbsc-rs256.pk8")).expect("a PKCS#8 RSA key");
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; pair.public().modulus_len()];
    let rng = ring::rand::SystemRandom::new();
    pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
        .expect("RS256 signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn rs256_jwk() -> Value {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::signature::RsaKeyPair;
    let pair =
        RsaKeyPair::from_pkcs8(include_bytes!("data/dbsc-rs256.pk8")).expect("a PKCS#8 RSA key");
    let components: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
    json!({ "kty": "RSA", "n": URL_SAFE_NO_PAD.encode(components.n), "e": URL_SAFE_NO_PAD.encode(components.e) })
}

#[tokio::test]
async fn an_rs256_key_registers_and_refreshes() {
    let layer = SessionLayer::new(typed_sessions::MemoryStore::new(), &key());
    let app = app(layer.with_device_binding(binding(Duration::from_secs(60))));
    let mut client = Client::new(app);
    let login = client.post("/login").await;
    let (path, challenge) =
        registration_offer(&header(&login, "secure-session-registration").unwrap()).unwrap();
    let registration = rs256_proof(
        &json!({ "alg": "RS256", "typ": "dbsc+jwt", "jwk": rs256_jwk() }),
        &json!({ "jti": challenge }),
    );
    let reply = post_proof(&mut client, &path, &registration).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let id: Value = serde_json::from_str(&reply.body).unwrap();
    let id = format!("\"{}\"", id["session_identifier"].as_str().unwrap());
    let ask = client
        .send_with(
            Method::POST,
            "/dbsc/refresh",
            &[("sec-secure-session-id", id.clone())],
        )
        .await;
    let (challenge, _) = challenge_of(&header(&ask, "secure-session-challenge").unwrap()).unwrap();
    // An ES256 proof for a session registered with RS256 is refused; the RS256 one is not.
    let es256 = DbscDevice::new().refresh_proof(&challenge);
    let refused = client
        .send_with(
            Method::POST,
            "/dbsc/refresh",
            &[
                ("sec-secure-session-id", id.clone()),
                ("secure-session-response", response_header(&es256)),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let proof = rs256_proof(
        &json!({ "alg": "RS256", "typ": "dbsc+jwt" }),
        &json!({ "jti": challenge }),
    );
    let reply = client
        .send_with(
            Method::POST,
            "/dbsc/refresh",
            &[
                ("sec-secure-session-id", id),
                ("secure-session-response", response_header(&proof)),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(client.get("/session").await.body, "0 bound");
}

/// A store whose replacing saves wait `delay` first: requests that load one session at
/// once all load before any of them saves.
#[derive(Debug)]
struct SlowSaves(Arc<dyn Store>, Duration);

impl Store for SlowSaves {
    fn load<'a>(
        &'a self,
        key: &'a StorageKey,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        self.0.load(key)
    }

    fn save<'a>(
        &'a self,
        key: &'a StorageKey,
        data: &'a [u8],
        expires_at: SystemTime,
        expected: Option<Version>,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<SaveOutcome, StoreError>> {
        Box::pin(async move {
            if expected.is_some() {
                tokio::time::sleep(self.1).await;
            }
            self.0.save(key, data, expires_at, expected, owner).await
        })
    }

    fn touch<'a>(
        &'a self,
        key: &'a StorageKey,
        expires_at: SystemTime,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.0.touch(key, expires_at, owner)
    }

    fn delete<'a>(
        &'a self,
        key: &'a StorageKey,
        owner: Option<&'a Owner>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.0.delete(key, owner)
    }
}

/// Two refreshes with one proof at once, on two instances: both load the challenge before
/// either saves, and the compare-and-swap lets exactly one of them use it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_refreshes_racing_with_one_proof_get_one_bound_cookie_on_every_server_store() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, store) in every_server_store(&dir).await {
        let slow: Arc<dyn Store> = Arc::new(SlowSaves(store, Duration::from_millis(200)));
        let layer = || {
            SessionLayer::new(Arc::clone(&slow), &key())
                .with_device_binding(binding(Duration::from_secs(60)))
        };
        let mut browser = Browser::new(app(layer()));
        browser.log_in_and_register().await;
        let ask = browser.ask().await;
        let headers = browser.answer(&browser.challenge_in(&ask));
        let mut first = browser.client.clone();
        let mut second = Client::new(app(layer()));
        second.jar = first.jar.clone();
        let (one, two) = tokio::join!(
            first.send_with(Method::POST, "/dbsc/refresh", &headers),
            second.send_with(Method::POST, "/dbsc/refresh", &headers),
        );
        let mut statuses = [one.status, two.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::FORBIDDEN],
            "{kind:?}"
        );
    }
}
