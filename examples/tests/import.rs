//! The demo's `SESSION_IMPORT=tower-sessions`, on real `demo` processes: sessions that real
//! tower-sessions wrote in Redis, PostgreSQL and SQLite (through the stores it ships, on the
//! same `REDIS_URL`, `DATABASE_URL` and `SQLITE_URL`) are served by the demo, each once, with
//! the demo's own cookie set in place of tower-sessions' one.

mod support;

use axum::Router;
use reqwest::header::{COOKIE, SET_COOKIE};
use support::{Demo, unique};
use tower::ServiceExt;
use typed_sessions_examples::View;

/// Where the tower-sessions app and the demo keep sessions: the Redis database of this
/// test alone.
const REDIS_URL: &str = "redis://127.0.0.1:6379/12";
const DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A tower-sessions 0.14 or 0.15 app over `$store`: `POST /login/{user}` keeps the demo's
/// fields under `demo`, as a tower-sessions app would with `session.insert("demo", ..)`.
macro_rules! tower_app {
    ($ts:path, $store:expr) => {{
        use $ts::{Session, SessionManagerLayer};
        async fn login(
            session: Session,
            axum::extract::Path(user): axum::extract::Path<String>,
        ) -> &'static str {
            let demo = serde_json::json!({ "visits": 5, "user": user });
            session.insert("demo", demo).await.expect("insert");
            "ok"
        }
        Router::new()
            .route("/login/{user}", axum::routing::post(login))
            .layer(SessionManagerLayer::new($store).with_secure(false))
    }};
}

/// The `id=...` cookie tower-sessions sets on a login.
async fn tower_cookie(tower: Router) -> String {
    let request = axum::http::Request::post(format!("/login/{}", unique("ada")))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower.oneshot(request).await.unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// The demo's answer to `GET /session` with `cookie`: its JSON, and the cookie it set.
async fn session(demo: &Demo, cookie: &str) -> (View, Option<String>) {
    let response = reqwest::Client::new()
        .get(format!("{}/session", demo.base))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    let set = response
        .headers()
        .get(SET_COOKIE)
        .map(|value| value.to_str().unwrap().to_owned());
    (response.json().await.expect("json"), set)
}

async fn taken_over(store: &str, env: &[(&str, &str)], cookie: String) {
    let mut env = env.to_vec();
    env.push(("SESSION_IMPORT", "tower-sessions"));
    let demo = Demo::start_with(store, &env).await;
    let (view, set) = session(&demo, &cookie).await;
    assert_eq!(view.visits, 5, "{store}: the tower-sessions session");
    assert!(view.user.is_some(), "{store}");
    let ours = set.expect("the demo's cookie");
    assert!(
        ours.starts_with("id=") && !ours.starts_with(&cookie),
        "{store}: {ours}"
    );
    let ours = ours.split(';').next().unwrap().to_owned();
    assert_eq!(
        session(&demo, &ours).await.0.visits,
        5,
        "{store}: under our cookie"
    );
    assert_eq!(
        session(&demo, &cookie).await.0.visits,
        0,
        "{store}: opened once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_takes_over_tower_sessions_on_redis_postgres_and_sqlite() {
    use fred::prelude::{ClientLike, Config, Pool};
    let pool = Pool::new(Config::from_url(REDIS_URL).unwrap(), None, None, None, 2).unwrap();
    drop(pool.connect());
    pool.wait_for_connect().await.expect("redis");
    let tower = tower_app!(
        tower_sessions_014,
        tower_sessions_redis_store::RedisStore::new(pool)
    );
    let cookie = tower_cookie(tower).await;
    taken_over("redis", &[("REDIS_URL", REDIS_URL)], cookie).await;

    let pool = sqlx08::PgPool::connect(DATABASE_URL)
        .await
        .expect("PostgreSQL");
    let store = tower_sessions_sqlx_store::PostgresStore::new(pool);
    store.migrate().await.expect("tower-sessions' table");
    let cookie = tower_cookie(tower_app!(tower_sessions_014, store)).await;
    taken_over("postgres", &[("DATABASE_URL", DATABASE_URL)], cookie).await;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let store = typed_sessions_bench::tower_sqlite::TowerSqliteStore::open(&url)
        .await
        .expect("tower-sessions' SQLite store");
    let cookie = tower_cookie(tower_app!(tower_sessions, store)).await;
    taken_over("sqlite", &[("SQLITE_URL", url.as_str())], cookie).await;
}

/// The variable is checked: an unknown value, or a store tower-sessions has none of here,
/// stops the demo with a message instead of serving without the import.
#[test]
fn a_wrong_session_import_stops_the_demo_with_a_message() {
    for (store, import) in [("redis", "tower"), ("memory", "tower-sessions")] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_demo"))
            .env("SESSION_STORE", store)
            .env("SESSION_IMPORT", import)
            .env("PORT", "0")
            .output()
            .expect("the demo runs");
        assert!(!output.status.success(), "{store} {import}");
        let log = String::from_utf8_lossy(&output.stdout);
        assert!(log.contains("SESSION_IMPORT"), "{store} {import}: {log}");
    }
}
