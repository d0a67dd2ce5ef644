//! Live sessions (issue 29) through the public API, on every store: a handle that outlives
//! its request, whose writes race HTTP requests and lose nothing, whose socket traffic
//! keeps the session alive, and which hears of every way its session ends; and the
//! lifecycle events, in order, without ids.

use axum::Router;
use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use typed_sessions::events::{EventKind, SessionEvent};
use typed_sessions::live::{EndReason, LiveSession};
use typed_sessions::{Fingerprint, MemoryStore, RedisStore, Session, SessionLayer};
use typed_sessions_tests::{Client, StoreKind};

#[derive(Session, Default)]
struct Live {
    visits: u64,
}

type Handles = mpsc::UnboundedSender<LiveSession<Live>>;

/// The routes, with `GET /live` handing its live session to the test (as `on_upgrade`
/// hands it to a socket's task).
fn app(layer: SessionLayer, handles: Handles, gate: Arc<Gate>) -> Router {
    async fn live(Extension(handles): Extension<Handles>, live: LiveSession<Live>) -> &'static str {
        assert!(handles.send(live).is_ok(), "the test listens");
        "live"
    }
    async fn login(session: Session<Live>, Path(user): Path<String>) {
        session.bind_owner(user).unwrap();
    }
    async fn visit(session: Session<Live>) -> String {
        session.update_visits(|n| *n += 1);
        session.visits().to_string()
    }
    async fn visits(session: Session<Live>) -> String {
        session.visits().to_string()
    }
    async fn logout(session: Session<Live>) {
        session.delete();
    }
    async fn cycle(session: Session<Live>) {
        session.cycle_id();
    }
    async fn everywhere(session: Session<Live>) -> StatusCode {
        match session.log_out_everywhere().await {
            Ok(_) => StatusCode::OK,
            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    async fn others(session: Session<Live>) {
        session.log_out_others().await.unwrap();
    }
    async fn password(session: Session<Live>) {
        session.credentials_changed().await.unwrap();
    }
    async fn revoke(session: Session<Live>, Path(fingerprint): Path<String>) -> StatusCode {
        let fingerprint: Fingerprint = fingerprint.parse().unwrap();
        match session.revoke(fingerprint).await.unwrap() {
            true => StatusCode::NO_CONTENT,
            false => StatusCode::NOT_FOUND,
        }
    }
    async fn fingerprint(session: Session<Live>) -> String {
        session
            .fingerprint()
            .map(|f| f.to_string())
            .unwrap_or_default()
    }
    Router::new()
        .route("/live", get(live))
        .route(
            "/live-gated",
            get(live).layer(axum::middleware::from_fn(gated)),
        )
        .route("/login/{user}", post(login))
        .route("/visit", post(visit))
        .route("/visits", get(visits))
        .route("/logout", post(logout))
        .route("/cycle", post(cycle))
        .route("/everywhere", post(everywhere))
        .route("/others", post(others))
        .route("/password", post(password))
        .route("/revoke/{fingerprint}", post(revoke))
        .route("/fingerprint", get(fingerprint))
        .layer(layer)
        .layer(Extension(handles))
        .layer(Extension(gate))
}

/// Where `GET /live-gated` stops: after the session layer read the session, before the
/// live handle starts listening for its changes.
#[derive(Default)]
struct Gate {
    reached: tokio::sync::Notify,
    open: tokio::sync::Notify,
}

async fn gated(
    Extension(gate): Extension<Arc<Gate>>,
    session: Session<Live>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let _ = session.visits();
    gate.reached.notify_one();
    gate.open.notified().await;
    next.run(request).await
}

/// A client of `app`, and the live handles its `GET /live` hands out.
struct Harness {
    app: Router,
    handles: mpsc::UnboundedReceiver<LiveSession<Live>>,
    gate: Arc<Gate>,
}

impl Harness {
    fn new(layer: SessionLayer) -> Self {
        let (sender, handles) = mpsc::unbounded_channel();
        let gate = Arc::new(Gate::default());
        Self {
            app: app(layer, sender, Arc::clone(&gate)),
            handles,
            gate,
        }
    }

    fn client(&self) -> Client {
        Client::new(self.app.clone())
    }

    /// `client`'s live session.
    async fn live(&mut self, client: &mut Client) -> LiveSession<Live> {
        let reply = client.get("/live").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        self.handles.recv().await.expect("a live session")
    }

    /// `client`'s live session, with `meanwhile` run after the request read the session and
    /// before its live handle started to listen for the session's changes.
    async fn live_after(
        &mut self,
        client: &mut Client,
        meanwhile: impl Future<Output = ()>,
    ) -> LiveSession<Live> {
        let gate = Arc::clone(&self.gate);
        let (reply, ()) = tokio::join!(client.get("/live-gated"), async {
            gate.reached.notified().await;
            meanwhile.await;
            gate.open.notify_one();
        });
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        self.handles.recv().await.expect("a live session")
    }
}

/// Waits at most 2 s for `live`'s session to end.
async fn ends_within_2s(live: &LiveSession<Live>) -> EndReason {
    tokio::time::timeout(Duration::from_secs(2), live.ended())
        .await
        .expect("the live session heard of its end within 2 s")
}

/// A layer on `kind`; cookie sessions with a revocation store, so that they can be revoked.
async fn layer(kind: StoreKind, dir: &tempfile::TempDir) -> SessionLayer {
    let layer = kind.layer(dir).await;
    match kind.is_server() {
        true => layer,
        false => layer.with_revocation_store(MemoryStore::new()),
    }
}

#[tokio::test]
async fn an_upgrade_without_a_live_session_is_refused_with_401() {
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::ALL {
        let harness = Harness::new(layer(kind, &dir).await);
        let mut client = harness.client();
        assert_eq!(
            client.get("/live").await.status,
            StatusCode::UNAUTHORIZED,
            "{kind:?}"
        );
        client.post("/logout").await;
        let mut forged = harness.client();
        forged.jar.push(("id".into(), "forged".into()));
        assert_eq!(
            forged.get("/live").await.status,
            StatusCode::UNAUTHORIZED,
            "{kind:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_and_http_increments_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::SERVER {
        let mut harness = Harness::new(layer(kind, &dir).await);
        let mut client = harness.client();
        client.post("/login/ada").await;
        let live = Arc::new(harness.live(&mut client).await);
        let socket = {
            let live = Arc::clone(&live);
            tokio::spawn(async move {
                for _ in 0..20 {
                    live.update_visits(|n| *n += 1);
                    live.save().await.expect("saved");
                }
            })
        };
        let http = {
            let mut client = client.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    assert_eq!(client.post("/visit").await.status, StatusCode::OK);
                }
            })
        };
        socket.await.unwrap();
        http.await.unwrap();
        assert_eq!(client.get("/visits").await.body, "40", "{kind:?}");
        assert!(live.is_alive());
    }
}

#[tokio::test]
async fn socket_activity_keeps_a_session_alive_past_its_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::SERVER {
        let layer = layer(kind, &dir)
            .await
            .with_idle_timeout(Duration::from_secs(2))
            .with_refresh_interval(Duration::from_millis(500));
        let mut harness = Harness::new(layer);
        let mut client = harness.client();
        client.post("/login/ada").await;
        client.post("/visit").await;
        let live = harness.live(&mut client).await;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            live.activity().await.expect("alive");
        }
        assert!(live.is_alive(), "{kind:?}: 4 s of pings");
        assert_eq!(client.get("/visits").await.body, "1", "{kind:?}: kept");
        // No more traffic: it expires, and the socket hears of it.
        let reason = tokio::time::timeout(Duration::from_secs(5), live.ended())
            .await
            .expect("expired within its idle timeout and a bit");
        assert_eq!(reason, EndReason::Expired, "{kind:?}");
        assert_eq!(client.get("/visits").await.body, "0", "{kind:?}: gone");
    }
}

/// How a session ends, from another client of its owner or its own.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Logout,
    Everywhere,
    Others,
    Revoke,
    Password,
}

#[tokio::test]
async fn every_ending_reaches_the_live_session_within_2s() {
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::ALL {
        for ending in [
            Ending::Logout,
            Ending::Everywhere,
            Ending::Others,
            Ending::Revoke,
            Ending::Password,
        ] {
            if !kind.is_server() && matches!(ending, Ending::Revoke) {
                continue; // cookie sessions are not listed, so not revoked one by one
            }
            let mut harness = Harness::new(layer(kind, &dir).await);
            let mut phone = harness.client();
            let mut laptop = harness.client();
            phone.post("/login/ada").await;
            laptop.post("/login/ada").await;
            let live = harness.live(&mut phone).await;
            let laptops = harness.live(&mut laptop).await;
            let expected = match ending {
                Ending::Logout => {
                    phone.post("/logout").await;
                    EndReason::Deleted
                }
                Ending::Everywhere | Ending::Others | Ending::Password => {
                    let path = match ending {
                        Ending::Everywhere => "/everywhere",
                        Ending::Others => "/others",
                        _ => "/password",
                    };
                    assert_eq!(laptop.post(path).await.status, StatusCode::OK);
                    EndReason::Revoked
                }
                Ending::Revoke => {
                    let fingerprint = phone.get("/fingerprint").await.body;
                    let path = format!("/revoke/{fingerprint}");
                    assert_eq!(laptop.post(&path).await.status, StatusCode::NO_CONTENT);
                    EndReason::Revoked
                }
            };
            assert_eq!(ends_within_2s(&live).await, expected, "{kind:?} {ending:?}");
            assert!(matches!(
                live.save().await,
                Err(typed_sessions::Error::SessionEnded)
            ));
            // The laptop's own socket: ended by "everywhere", kept by the others.
            let laptop_ends = matches!(ending, Ending::Everywhere);
            assert_eq!(laptops.is_alive(), !laptop_ends, "{kind:?} {ending:?}");
        }
    }
}

#[tokio::test]
async fn a_live_session_follows_its_session_to_a_new_id() {
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::SERVER {
        let mut harness = Harness::new(layer(kind, &dir).await);
        let mut client = harness.client();
        client.post("/login/ada").await;
        let live = harness.live(&mut client).await;
        client.post("/cycle").await;
        client.post("/visit").await;
        live.update_visits(|n| *n += 1);
        live.save().await.expect("saved under the new id");
        assert!(live.is_alive(), "{kind:?}");
        assert_eq!(live.visits(), 2, "{kind:?}: rebased on the request's visit");
        assert_eq!(client.get("/visits").await.body, "2", "{kind:?}");
        client.post("/logout").await;
        assert_eq!(ends_within_2s(&live).await, EndReason::Deleted, "{kind:?}");
    }
}

/// Events as a sink receives them.
fn recorded(layer: SessionLayer) -> (SessionLayer, Arc<Mutex<Vec<SessionEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let layer = layer.with_events(move |event| sink.lock().unwrap().push(event));
    (layer, events)
}

fn kinds(events: &Mutex<Vec<SessionEvent>>) -> Vec<EventKind> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|event| event.kind)
        .collect()
}

#[tokio::test]
async fn events_arrive_once_each_in_order_and_name_no_id() {
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::SERVER {
        let (layer, events) = recorded(layer(kind, &dir).await);
        let harness = Harness::new(layer);
        let mut client = harness.client();
        client.post("/visit").await;
        client.post("/login/ada").await;
        client.post("/visit").await;
        client.post("/cycle").await;
        let mut other = harness.client();
        other.post("/login/ada").await;
        client.post("/others").await;
        client.post("/logout").await;
        use EventKind::*;
        assert_eq!(
            kinds(&events),
            [
                Created, Rotated, Bound, Rotated, Created, Bound, Revoked, Deleted
            ],
            "{kind:?}"
        );
        let events = events.lock().unwrap();
        let text = format!("{events:?}");
        for (_, value) in client.jar.iter().chain(&other.jar) {
            assert!(
                !text.contains(value.as_str()),
                "{kind:?}: no cookie in events"
            );
        }
        assert!(events[0].owner.is_none() && events[2].owner.as_ref().unwrap().as_str() == "ada");
        assert_eq!(events[3].previous, Some(events[1].fingerprint), "{kind:?}");
        assert_eq!(
            events[6].fingerprint, events[4].fingerprint,
            "{kind:?}: the other one"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_that_lost_its_race_fires_no_event() {
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::SERVER {
        let (layer, events) = recorded(layer(kind, &dir).await);
        let mut harness = Harness::new(layer);
        let mut client = harness.client();
        client.post("/login/ada").await;
        let live = harness.live(&mut client).await;
        events.lock().unwrap().clear();
        // The session is logged out; then the socket's save finds it gone.
        client.post("/logout").await;
        live.update_visits(|n| *n += 1);
        assert!(live.save().await.is_err());
        assert_eq!(kinds(&events), [EventKind::Deleted], "{kind:?}");
    }
}

/// A store's name, and the store as each of two instances opened it.
type Instances = (
    &'static str,
    Arc<dyn typed_sessions::Store>,
    Arc<dyn typed_sessions::Store>,
);

/// Two instances sharing a store (each layer its own process's hub): what ends a session
/// on the second reaches the live session on the first within 2 s, over the store.
async fn across_instances(first: SessionLayer, second: SessionLayer, name: &str) {
    let mut one = Harness::new(first);
    let two = Harness::new(second);
    // A logout on the other instance.
    let mut phone = one.client();
    phone.post("/login/ada").await;
    let live = one.live(&mut phone).await;
    let mut same_phone = two.client();
    same_phone.jar = phone.jar.clone();
    same_phone.post("/logout").await;
    assert_eq!(
        ends_within_2s(&live).await,
        EndReason::Deleted,
        "{name}: logout"
    );
    // "Log out everywhere" from another device, on the other instance.
    phone.post("/login/ada").await;
    let live = one.live(&mut phone).await;
    let mut laptop = two.client();
    laptop.post("/login/ada").await;
    assert_eq!(laptop.post("/everywhere").await.status, StatusCode::OK);
    assert_eq!(
        ends_within_2s(&live).await,
        EndReason::Revoked,
        "{name}: everywhere"
    );
    // A password change on the other instance: the phone's socket here ends; the laptop's
    // own socket here stays (the revocation keeps it, then it moves to a new id: in that
    // order on the wire, or the move would make the revocation miss it).
    phone.post("/login/ada").await;
    let phones = one.live(&mut phone).await;
    let mut laptop = two.client();
    laptop.post("/login/ada").await;
    let mut laptop_here = one.client();
    laptop_here.jar = laptop.jar.clone();
    let laptops = one.live(&mut laptop_here).await;
    assert_eq!(laptop.post("/password").await.status, StatusCode::OK);
    assert_eq!(
        ends_within_2s(&phones).await,
        EndReason::Revoked,
        "{name}: password"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(laptops.is_alive(), "{name}: the changer's own socket stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endings_reach_live_sessions_on_other_instances() {
    use typed_sessions::{CookieBackend, PostgresStore};
    use typed_sessions_tests::{
        database_url, key, postgres_store, redis_cluster_store, redis_sentinel_store, redis_store,
    };
    let pool = || sqlx::PgPool::connect_lazy(&database_url()).unwrap();
    let redis = redis_store().await;
    let postgres: PostgresStore = postgres_store().await;
    let cluster = redis_cluster_store().await;
    let sentinel = redis_sentinel_store().await;
    let server: [Instances; 4] = [
        ("redis", Arc::new(redis.clone()), Arc::new(redis)),
        (
            "postgres",
            Arc::new(postgres.clone()),
            Arc::new(postgres.with_pool(pool())),
        ),
        ("cluster", Arc::new(cluster.clone()), Arc::new(cluster)),
        ("sentinel", Arc::new(sentinel.clone()), Arc::new(sentinel)),
    ];
    for (name, first, second) in server {
        let layers = (
            SessionLayer::new(first, &key()),
            SessionLayer::new(second, &key()),
        );
        across_instances(layers.0, layers.1, name).await;
    }
    // Cookie sessions, with their revocations in Redis or PostgreSQL.
    let redis = redis_store().await;
    let postgres = postgres_store().await;
    let revocations: [Instances; 2] = [
        ("cookie + redis", Arc::new(redis.clone()), Arc::new(redis)),
        (
            "cookie + postgres",
            Arc::new(postgres.clone()),
            Arc::new(postgres.with_pool(pool())),
        ),
    ];
    for (name, first, second) in revocations {
        let layer =
            |store| SessionLayer::new(CookieBackend::sealed(), &key()).with_revocation_store(store);
        let mut one = Harness::new(layer(first));
        let two = Harness::new(layer(second));
        let mut phone = one.client();
        phone.post("/login/ada").await;
        let live = one.live(&mut phone).await;
        let mut laptop = two.client();
        laptop.post("/login/ada").await;
        assert_eq!(laptop.post("/everywhere").await.status, StatusCode::OK);
        assert_eq!(ends_within_2s(&live).await, EndReason::Revoked, "{name}");
    }
}

/// A request that loads the session, says so on `loaded`, waits for `gate`, then does
/// `action`: a rotation or a logout that finishes after another request's change.
async fn slow(
    Extension(gates): Extension<(Arc<tokio::sync::Semaphore>, Arc<tokio::sync::Semaphore>)>,
    session: Session<Live>,
    Path(action): Path<String>,
) {
    let (loaded, gate) = gates;
    let _ = session.visits();
    loaded.add_permits(1);
    gate.acquire().await.unwrap().forget();
    match action.as_str() {
        "cycle" => session.cycle_id(),
        _ => session.delete(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_change_that_won_its_race_fires_an_event() {
    use tokio::sync::Semaphore;
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::SERVER {
        let (layer, events) = recorded(layer(kind, &dir).await);
        let gates = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
        let (handles, _) = mpsc::unbounded_channel();
        let app = app(layer.clone(), handles, Arc::default())
            .merge(
                Router::new()
                    .route("/slow/{action}", post(slow))
                    .layer(layer),
            )
            .layer(Extension(gates.clone()));
        for (late, quick, won) in [
            ("/slow/cycle", "/cycle", EventKind::Rotated),
            ("/slow/cycle", "/logout", EventKind::Deleted),
            ("/slow/logout", "/cycle", EventKind::Rotated),
        ] {
            let mut client = Client::new(app.clone());
            client.post("/login/ada").await;
            events.lock().unwrap().clear();
            let slow_request = {
                let mut client = client.clone();
                tokio::spawn(async move { client.post(late).await })
            };
            gates.0.acquire().await.unwrap().forget();
            client.post(quick).await;
            gates.1.add_permits(1);
            slow_request.await.unwrap();
            assert_eq!(
                kinds(&events),
                [won],
                "{kind:?}: {quick} won, {late} lost and fired nothing"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_stream_on_a_live_session_ends_with_the_session() {
    use axum::response::sse::{Event, Sse};
    use futures_util::StreamExt;
    use futures_util::stream;
    use tokio::sync::Semaphore;
    async fn events(
        Extension(opened): Extension<Arc<Semaphore>>,
        live: LiveSession<Live>,
    ) -> impl axum::response::IntoResponse {
        opened.add_permits(1);
        let hello = stream::once(async {
            Ok::<_, std::convert::Infallible>(Event::default().data("live"))
        });
        let end = stream::once(async move {
            let reason = live.ended().await;
            Ok(Event::default().event("ended").data(reason.as_str()))
        });
        Sse::new(hello.chain(end))
    }
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::ALL {
        let layer = layer(kind, &dir).await;
        let (handles, _) = mpsc::unbounded_channel();
        let opened = Arc::new(Semaphore::new(0));
        let app = app(layer.clone(), handles, Arc::default())
            .merge(Router::new().route("/events", get(events)).layer(layer))
            .layer(Extension(Arc::clone(&opened)));
        let mut client = Client::new(app);
        assert_eq!(client.get("/events").await.status, StatusCode::UNAUTHORIZED);
        client.post("/login/ada").await;
        let stream = {
            let mut client = client.clone();
            tokio::spawn(async move { client.get("/events").await })
        };
        opened.acquire().await.unwrap().forget();
        client.post("/logout").await;
        let reply = tokio::time::timeout(Duration::from_secs(2), stream)
            .await
            .expect("the stream ended within 2 s")
            .unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{kind:?}");
        assert!(
            reply.body.contains("data: live"),
            "{kind:?}: {}",
            reply.body
        );
        assert!(
            reply.body.contains("event: ended\ndata: deleted"),
            "{kind:?}: {}",
            reply.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_sessions_expire_once_when_their_index_is_read_or_the_sweep_runs() {
    use typed_sessions_tests::{key, owner};
    let dir = tempfile::tempdir().unwrap();
    for kind in StoreKind::SERVER {
        let store = kind.store(&dir).await.expect("a server store");
        let layer =
            SessionLayer::new(Arc::clone(&store), &key()).with_idle_timeout(Duration::from_secs(1));
        let (layer, events) = recorded(layer);
        let accounts = layer.accounts();
        let mut harness = Harness::new(layer);
        let expired = |events: &Mutex<Vec<SessionEvent>>, who: &str| {
            let events = events.lock().unwrap();
            events
                .iter()
                .filter(|e| e.kind == EventKind::Expired)
                .filter(|e| e.owner.as_ref().is_some_and(|o| o.as_str() == who))
                .count()
        };
        // Read: listing the owner's sessions tells the expiry, once.
        harness.client().post("/login/ada").await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(expired(&events, "ada"), 0, "{kind:?}: nobody looked yet");
        assert!(accounts.sessions(&owner("ada")).await.unwrap().is_empty());
        assert_eq!(expired(&events, "ada"), 1, "{kind:?}: told on reading");
        accounts.sessions(&owner("ada")).await.unwrap();
        assert_eq!(expired(&events, "ada"), 1, "{kind:?}: once");
        // Written: the owner logs in again, and their index drops the expired session
        // (not on the file store, whose index a login only adds to).
        if kind != StoreKind::File {
            harness.client().post("/login/bob").await;
            tokio::time::sleep(Duration::from_millis(1200)).await;
            harness.client().post("/login/bob").await;
            assert_eq!(expired(&events, "bob"), 1, "{kind:?}: told on writing");
        }
        // The sweep: told at the layer's next write after it (Redis expires keys itself).
        if kind != StoreKind::Redis {
            harness.client().post("/login/dan").await;
            tokio::time::sleep(Duration::from_millis(1200)).await;
            assert!(store.sweep_expired().await.unwrap() >= 1, "{kind:?}");
            harness.client().post("/visit").await;
            assert_eq!(expired(&events, "dan"), 1, "{kind:?}: told after the sweep");
        }
        // Watched by a live session: ended at once, and the event told once still.
        let mut carol = harness.client();
        carol.post("/login/carol").await;
        let live = harness.live(&mut carol).await;
        let ended = tokio::time::timeout(Duration::from_secs(3), live.ended()).await;
        assert_eq!(ended.expect("expired"), EndReason::Expired, "{kind:?}");
        accounts.sessions(&owner("carol")).await.unwrap();
        accounts.sessions(&owner("carol")).await.unwrap();
        assert_eq!(
            expired(&events, "carol"),
            1,
            "{kind:?}: once, watched or not"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ending_while_the_socket_starts_is_not_missed() {
    use typed_sessions::CookieBackend;
    use typed_sessions_tests::{key, postgres_store, redis_cluster_store, redis_store};
    let pool = || sqlx::PgPool::connect_lazy(&typed_sessions_tests::database_url()).unwrap();
    let redis = redis_store().await;
    let cluster = redis_cluster_store().await;
    let postgres = postgres_store().await;
    let server: [Instances; 3] = [
        ("redis", Arc::new(redis.clone()), Arc::new(redis)),
        ("cluster", Arc::new(cluster.clone()), Arc::new(cluster)),
        (
            "postgres",
            Arc::new(postgres.clone()),
            Arc::new(postgres.with_pool(pool())),
        ),
    ];
    for (name, first, second) in server {
        let mut one = Harness::new(SessionLayer::new(first, &key()));
        let two = Harness::new(SessionLayer::new(second, &key()));
        // A logout on the other instance, after the upgrade read the session.
        let mut phone = one.client();
        phone.post("/login/ada").await;
        let mut same_phone = two.client();
        same_phone.jar = phone.jar.clone();
        let logout = async {
            same_phone.post("/logout").await;
        };
        let live = one.live_after(&mut phone, logout).await;
        assert_eq!(
            ends_within_2s(&live).await,
            EndReason::Deleted,
            "{name}: logout"
        );
        // "Log out everywhere" on the other instance, after the upgrade read the session.
        everywhere_while_starting(&mut one, &two, name).await;
    }
    // A cookie session, its revocations in Redis.
    let redis = redis_store().await;
    let layer = |store: Arc<RedisStore>| {
        SessionLayer::new(CookieBackend::sealed(), &key()).with_revocation_store(store)
    };
    let mut one = Harness::new(layer(Arc::new(redis.clone())));
    let two = Harness::new(layer(Arc::new(redis)));
    everywhere_while_starting(&mut one, &two, "cookie").await;
}

/// Ada logs in on `one` and `two`; "log out everywhere" on `two` runs after `one`'s upgrade
/// request read her session and before its live session listens: it ends all the same.
async fn everywhere_while_starting(one: &mut Harness, two: &Harness, name: &str) {
    let mut phone = one.client();
    phone.post("/login/ada").await;
    let mut laptop = two.client();
    laptop.post("/login/ada").await;
    let everywhere = async {
        assert_eq!(laptop.post("/everywhere").await.status, StatusCode::OK);
    };
    let live = one.live_after(&mut phone, everywhere).await;
    let ended = ends_within_2s(&live).await;
    assert_eq!(ended, EndReason::Revoked, "{name}: everywhere");
}

/// The live-session channels of `prefix` that have subscribers on `nodes`: plain ones on
/// one server, shard channels on a Cluster's masters.
async fn channels(nodes: &[String], prefix: &str, sharded: bool) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for node in nodes {
        let client = redis::Client::open(node.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let kind = if sharded { "SHARDCHANNELS" } else { "CHANNELS" };
        let found: Vec<String> = redis::cmd("PUBSUB")
            .arg(kind)
            .arg(format!("{prefix}live:*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        names.extend(found);
    }
    names
}

/// The live-session channels of `prefix` on `nodes`, once `done` says they are as expected
/// (or after 2 s).
async fn channels_once(
    nodes: &[String],
    prefix: &str,
    sharded: bool,
    done: impl Fn(&BTreeSet<String>) -> bool,
) -> BTreeSet<String> {
    let mut names = channels(nodes, prefix, sharded).await;
    for _ in 0..40 {
        if done(&names) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        names = channels(nodes, prefix, sharded).await;
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_listens_only_to_the_sessions_and_owners_it_holds_live() {
    use typed_sessions_tests::{key, redis_cluster_nodes, redis_url, strs, unique};
    let server = vec![redis_url()];
    let cluster = redis_cluster_nodes();
    for (name, nodes, sharded) in [("redis", &server, false), ("cluster", &cluster, true)] {
        let prefix = unique("test:");
        let store = match sharded {
            false => RedisStore::connect(&server[0]).await.unwrap(),
            true => RedisStore::connect_cluster(&strs(&cluster)).await.unwrap(),
        };
        let store = store.with_prefix(prefix.clone());
        let mut one = Harness::new(SessionLayer::new(store, &key()));
        let mut phone = one.client();
        phone.post("/login/ada").await;
        let mut tablet = one.client();
        tablet.post("/login/ada").await;
        let mut guest = one.client();
        guest.post("/visit").await;
        let count = |n: usize| move |names: &BTreeSet<String>| names.len() == n;
        let listened = channels_once(nodes, &prefix, sharded, count(0)).await;
        assert_eq!(listened.len(), 0, "{name}");
        let phones = one.live(&mut phone).await;
        let listened = channels_once(nodes, &prefix, sharded, count(2)).await;
        assert_eq!(listened.len(), 2, "{name}: the session's and its owner's");
        let tablets = one.live(&mut tablet).await;
        let listened = channels_once(nodes, &prefix, sharded, count(3)).await;
        assert_eq!(
            listened.len(),
            3,
            "{name}: one more session, the same owner"
        );
        let guests = one.live(&mut guest).await;
        let listened = channels_once(nodes, &prefix, sharded, count(4)).await;
        assert_eq!(listened.len(), 4, "{name}: a session without an owner");
        drop((phones, tablets));
        let guests_channel = channels_once(nodes, &prefix, sharded, count(1)).await;
        assert_eq!(guests_channel.len(), 1, "{name}: only the guest's left");
        // Across a move to a new id, the channel follows.
        assert_eq!(guest.post("/cycle").await.status, StatusCode::OK);
        let moved = |names: &BTreeSet<String>| names.len() == 1 && *names != guests_channel;
        let listened = channels_once(nodes, &prefix, sharded, moved).await;
        assert!(
            moved(&listened),
            "{name}: the new id's, not the old: {listened:?}"
        );
        guest.post("/logout").await;
        assert_eq!(ends_within_2s(&guests).await, EndReason::Deleted, "{name}");
        drop(guests);
        let listened = channels_once(nodes, &prefix, sharded, count(0)).await;
        assert_eq!(listened.len(), 0, "{name}");
    }
}
