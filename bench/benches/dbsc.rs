//! What device binding (DBSC) costs: an ordinary request of a bound session (its bound
//! cookie checked) against the same request of an unbound one, and a whole refresh: the
//! request that gets a challenge, then the one that answers it; or, as Chromium does, the
//! one request that answers the challenge sent ahead with the last bound cookie. In process
//! on the memory store, in alternating rounds so that the ratio holds on a noisy machine.
//!
//! `taskset -c 1 cargo bench -p typed-sessions-bench --bench dbsc`; for instruction counts,
//! `valgrind --tool=callgrind BINARY plain|bound N` runs N reads of one kind and nothing else.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use axum::routing::{get, post};
use std::time::{Duration, Instant};
use tower::ServiceExt;
use typed_sessions::dbsc::{DeviceBinding, Refresh, Registration};
use typed_sessions::test::{DbscDevice, challenge_of, registration_offer, response_header};
use typed_sessions::{Key, MemoryStore, Session, SessionLayer};
use typed_sessions_bench::{Padded, median};

const ROUNDS: usize = 9;
const READS: u32 = 20_000;
const REFRESHES: u32 = 500;

fn app(bound: bool) -> Router {
    let key = Key::from_secret(&[7; 64]).unwrap();
    let mut layer = SessionLayer::new(MemoryStore::new(), &key).with_secure(false);
    if bound {
        layer = layer.with_device_binding(DeviceBinding::new().with_bound_cookie("bound"));
    }
    Router::new()
        .route(
            "/login",
            post(|s: Session<Padded>| async move {
                s.bind_owner("ada").unwrap();
                s.set_text("x".repeat(200));
            }),
        )
        .route(
            "/read",
            get(|p: Session<Padded>| async move { p.count().to_string() }),
        )
        .route_service("/dbsc/start", Registration)
        .route_service("/dbsc/refresh", Refresh)
        .layer(layer)
        .with_state(())
}

/// Sends one request; the response's headers.
async fn send(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
) -> axum::http::Response<Body> {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

/// The `name=value` pairs of a response's `Set-Cookie`s, over `jar`.
fn keep(jar: &mut Vec<(String, String)>, response: &axum::http::Response<Body>) {
    for set in response.headers().get_all(header::SET_COOKIE) {
        let cookie = cookie::Cookie::parse(set.to_str().unwrap().to_owned()).unwrap();
        jar.retain(|(name, _)| name != cookie.name());
        jar.push((cookie.name().to_owned(), cookie.value().to_owned()));
    }
}

fn cookie_header(jar: &[(String, String)]) -> String {
    jar.iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A logged-in client of `app`: its cookies, and (bound) its device and DBSC session id.
async fn log_in(
    app: &Router,
    bound: bool,
) -> (Vec<(String, String)>, Option<(DbscDevice, String)>) {
    let mut jar = Vec::new();
    let login = send(app, "POST", "/login", &[]).await;
    keep(&mut jar, &login);
    if !bound {
        return (jar, None);
    }
    let offer = login.headers()["secure-session-registration"]
        .to_str()
        .unwrap();
    let (path, challenge) = registration_offer(offer).unwrap();
    let device = DbscDevice::new();
    let proof = response_header(&device.registration_proof(&challenge));
    let headers = [
        ("cookie", cookie_header(&jar)),
        ("secure-session-response", proof),
    ];
    let registered = send(app, "POST", &path, &headers).await;
    keep(&mut jar, &registered);
    let body = axum::body::to_bytes(registered.into_body(), 1 << 16)
        .await
        .unwrap();
    let instructions: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let id = instructions["session_identifier"]
        .as_str()
        .unwrap()
        .to_owned();
    (jar, Some((device, id)))
}

async fn reads(app: &Router, cookies: &str, n: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let response = send(app, "GET", "/read", &[("cookie", cookies.to_owned())]).await;
        assert!(response.status().is_success());
    }
    start.elapsed() / n
}

/// `n` refreshes of `jar`'s session, the server's time for each: asking for a challenge
/// and answering it, or (`ahead`) answering the one the last refresh sent ahead.
async fn refreshes(
    app: &Router,
    jar: &mut Vec<(String, String)>,
    (device, id): &(DbscDevice, String),
    n: u32,
    ahead: bool,
) -> Duration {
    let mut spent = Duration::ZERO;
    let named = ("sec-secure-session-id", format!("\"{id}\""));
    let mut sent_ahead = None;
    for _ in 0..n {
        let challenge = match sent_ahead.take().filter(|_| ahead) {
            Some(challenge) => challenge,
            None => {
                let start = Instant::now();
                let headers = [("cookie", cookie_header(jar)), named.clone()];
                let ask = send(app, "POST", "/dbsc/refresh", &headers).await;
                if !ahead {
                    spent += start.elapsed();
                }
                keep(jar, &ask);
                challenge_in(&ask)
            }
        };
        let proof = response_header(&device.refresh_proof(&challenge));
        let headers = [
            ("cookie", cookie_header(jar)),
            named.clone(),
            ("secure-session-response", proof),
        ];
        let start = Instant::now();
        let answered = send(app, "POST", "/dbsc/refresh", &headers).await;
        spent += start.elapsed();
        assert!(answered.status().is_success());
        keep(jar, &answered);
        sent_ahead = Some(challenge_in(&answered));
    }
    spent / n
}

/// The challenge a response carries.
fn challenge_in(response: &axum::http::Response<Body>) -> String {
    let header = response.headers()["secure-session-challenge"].to_str();
    challenge_of(header.unwrap()).unwrap().0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `plain|bound N`: N reads of one kind, for callgrind.
    if let [kind, n] = args.as_slice()
        && let Ok(n) = n.parse()
    {
        let bound = kind == "bound";
        runtime.block_on(async {
            let app = app(bound);
            let (jar, _) = log_in(&app, bound).await;
            reads(&app, &cookie_header(&jar), n).await;
        });
        return;
    }
    let (rounds, scale) = typed_sessions_bench::rounds(ROUNDS);
    runtime.block_on(async {
        let (plain, bound) = (app(false), app(true));
        let (plain_jar, _) = log_in(&plain, false).await;
        let (mut bound_jar, device) = log_in(&bound, true).await;
        let device = device.unwrap();
        let (mut plain_times, mut bound_times) = (Vec::new(), Vec::new());
        let (mut asked_times, mut ahead_times) = (Vec::new(), Vec::new());
        let n = (REFRESHES / scale).max(1);
        for _ in 0..rounds {
            plain_times.push(reads(&plain, &cookie_header(&plain_jar), READS / scale).await);
            bound_times.push(reads(&bound, &cookie_header(&bound_jar), READS / scale).await);
            asked_times.push(refreshes(&bound, &mut bound_jar, &device, n, false).await);
            ahead_times.push(refreshes(&bound, &mut bound_jar, &device, n, true).await);
        }
        let (plain, bound) = (median(plain_times), median(bound_times));
        let (asked, ahead) = (median(asked_times), median(ahead_times));
        println!("| request | time | against an unbound read |");
        println!("|---|---|---|");
        println!("| read, unbound session | {plain:.2?} | 1.000 |");
        println!(
            "| read, bound session, bound cookie checked | {bound:.2?} | {:.3} |",
            bound.as_secs_f64() / plain.as_secs_f64()
        );
        println!(
            "| refresh: challenge, then proof (server side) | {asked:.2?} | {:.1} |",
            asked.as_secs_f64() / plain.as_secs_f64()
        );
        println!(
            "| refresh: proof of the challenge sent ahead (server side) | {ahead:.2?} | {:.1} |",
            ahead.as_secs_f64() / plain.as_secs_f64()
        );
    });
}
