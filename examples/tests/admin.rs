//! `session-admin`, the built binary, against real stores that real `demo` processes wrote:
//! each command on every server store, and migrations (file -> Redis, SQLite ->
//! PostgreSQL) whose sessions a demo on the target then serves, cookies unchanged.

mod support;

use reqwest::Method;
use serde_json::Value;
use std::process::{Command, Output};
use support::{Demo, browser, unique, view};

/// The environment of a demo or `session-admin`: its store's variables.
type Env = Vec<(&'static str, String)>;

/// A Redis database of this test binary's own, emptied before each use.
const REDIS_DB: &str = "redis://127.0.0.1:6379/13";
/// The migration target's.
const REDIS_TARGET_DB: &str = "redis://127.0.0.1:6379/14";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// `session-admin args` with `env`, and nothing else of this process's store variables.
fn admin(env: &[(&str, String)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_session-admin"));
    for name in [
        "SESSION_STORE",
        "REDIS_URL",
        "DATABASE_URL",
        "SQLITE_URL",
        "SESSION_DIR",
    ] {
        command.env_remove(name);
    }
    command
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .args(args)
        .output()
        .expect("session-admin runs")
}

/// The one JSON line `session-admin --json args` prints, which must succeed.
fn admin_json(env: &[(&str, String)], args: &[&str]) -> Value {
    let output = admin(env, args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    serde_json::from_str(&stdout).expect("JSON")
}

fn flush_redis(url: &str) {
    let db = url.rsplit('/').next().unwrap();
    let status = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-n", db, "FLUSHDB"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("redis-cli runs");
    assert!(status.success());
}

/// A PostgreSQL database of its own: `DATABASE_URL` for it.
async fn fresh_postgres() -> String {
    let name = unique("admin_").replace('-', "_");
    let pool = sqlx::PgPool::connect(&format!("{POSTGRES}/postgres"))
        .await
        .expect("PostgreSQL answers");
    // The name is this test's own: letters, digits and `_`.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create database");
    format!("{POSTGRES}/{name}")
}

/// Where each server store keeps its data: the demo's environment for it.
async fn server_stores(dir: &tempfile::TempDir) -> Vec<Env> {
    flush_redis(REDIS_DB);
    vec![
        vec![
            ("SESSION_STORE", "file".into()),
            (
                "SESSION_DIR",
                dir.path().join("files").display().to_string(),
            ),
        ],
        vec![
            ("SESSION_STORE", "redis".into()),
            ("REDIS_URL", REDIS_DB.into()),
        ],
        vec![
            ("SESSION_STORE", "postgres".into()),
            ("DATABASE_URL", fresh_postgres().await),
        ],
        vec![
            ("SESSION_STORE", "sqlite".into()),
            (
                "SQLITE_URL",
                format!("sqlite://{}", dir.path().join("s.db").display()),
            ),
        ],
    ]
}

async fn demo_on(env: &[(&str, String)]) -> Demo {
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let store = env[0].1;
    Demo::start_with(store, &env[1..]).await
}

/// Ada on two browsers, and a visitor without a login: the sessions a demo wrote.
async fn three_sessions(demo: &Demo, user: &str) -> Vec<reqwest::Client> {
    let base = &demo.base;
    let browsers = vec![browser(), browser(), browser()];
    for browser in &browsers[..2] {
        view(browser, Method::POST, format!("{base}/login/{user}")).await;
        view(browser, Method::POST, format!("{base}/visit")).await;
    }
    view(&browsers[2], Method::POST, format!("{base}/visit")).await;
    browsers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_on_every_server_store() {
    let dir = tempfile::tempdir().unwrap();
    for env in server_stores(&dir).await {
        let kind = env[0].1.clone();
        let demo = demo_on(&env).await;
        let user = unique("ada");
        let browsers = three_sessions(&demo, &user).await;
        assert_eq!(
            admin_json(&env, &["count", "--json"]),
            serde_json::json!({"live": 3}),
            "{kind}"
        );

        // `--json` after the subcommand or before it.
        let listed = admin_json(&env, &["--json", "list-owner", &user]);
        let listed = listed.as_array().expect("a list");
        assert_eq!(listed.len(), 2, "{kind}: {listed:?}");
        for session in listed {
            assert_eq!(session["id"].as_str().unwrap().len(), 16, "{kind}");
            let created = session["created_ms"].as_u64().unwrap();
            let seen = session["last_seen_ms"].as_u64().unwrap();
            assert!(created <= seen && seen < session["expires_ms"].as_u64().unwrap());
        }
        let text = admin(&env, &["list-owner", &user]);
        assert_eq!(
            String::from_utf8_lossy(&text.stdout).lines().count(),
            2,
            "{kind}"
        );

        let revoked = admin_json(&env, &["revoke-owner", &user, "--json"]);
        assert_eq!(revoked, serde_json::json!({"revoked": 2}), "{kind}");
        for browser in &browsers[..2] {
            let after = view(browser, Method::GET, format!("{}/session", demo.base)).await;
            assert_eq!(after.user, None, "{kind}: logged out by session-admin");
        }
        let after = view(&browsers[2], Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(
            after.visits, 1,
            "{kind}: the other visitor keeps their session"
        );
        assert_eq!(
            admin_json(&env, &["count", "--json"]),
            serde_json::json!({"live": 1})
        );
        assert!(admin_json(&env, &["purge-expired", "--json"])["purged"].is_u64());
        assert_eq!(
            admin_json(&env, &["list-owner", &user, "--json"]),
            serde_json::json!([])
        );
    }
}

/// Sessions a demo wrote on the source, copied with their owners and lifetimes: a demo on
/// the target, with the same secret, serves the same cookies, and lists the owner's
/// sessions from the target's own index. A second run copies nothing more.
async fn migration(from: Env, to: Env, url: &str, resume: std::path::PathBuf) {
    let user = unique("grace");
    let browsers = {
        let demo = demo_on(&from).await;
        let browsers = three_sessions(&demo, &user).await;
        view(&browsers[0], Method::POST, format!("{}/visit", demo.base)).await;
        browsers
    };
    let resume_arg = resume.display().to_string();
    let args = [
        "migrate",
        "--to",
        url,
        "--batch",
        "1",
        "--resume",
        &resume_arg,
        "--json",
    ];
    assert_eq!(
        admin_json(&from, &args),
        serde_json::json!({"migrated": 3}),
        "{url}"
    );
    assert!(
        !resume.exists(),
        "the position is removed once the copy is done"
    );
    assert_eq!(
        admin_json(&to, &["count", "--json"]),
        serde_json::json!({"live": 3})
    );
    let again = admin_json(&from, &["migrate", "--to", url, "--json"]);
    assert_eq!(
        again,
        serde_json::json!({"migrated": 0}),
        "nothing copied twice"
    );

    let demo = demo_on(&to).await;
    let visits: Vec<u64> = futures_visits(&browsers, &demo.base).await;
    assert_eq!(visits, [2, 1, 1], "{url}: every session, on the target");
    let listed = admin_json(&to, &["list-owner", &user, "--json"]);
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "the owner index came along"
    );
}

async fn futures_visits(browsers: &[reqwest::Client], base: &str) -> Vec<u64> {
    let mut visits = Vec::new();
    for browser in browsers {
        visits.push(
            view(browser, Method::GET, format!("{base}/session"))
                .await
                .visits,
        );
    }
    visits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_store_migrates_to_redis_and_sqlite_to_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    flush_redis(REDIS_TARGET_DB);
    migration(
        vec![
            ("SESSION_STORE", "file".into()),
            ("SESSION_DIR", files.display().to_string()),
        ],
        vec![
            ("SESSION_STORE", "redis".into()),
            ("REDIS_URL", REDIS_TARGET_DB.into()),
        ],
        REDIS_TARGET_DB,
        dir.path().join("position-redis"),
    )
    .await;

    let sqlite = format!("sqlite://{}", dir.path().join("from.db").display());
    let postgres = fresh_postgres().await;
    migration(
        vec![("SESSION_STORE", "sqlite".into()), ("SQLITE_URL", sqlite)],
        vec![
            ("SESSION_STORE", "postgres".into()),
            ("DATABASE_URL", postgres.clone()),
        ],
        &postgres,
        dir.path().join("position-postgres"),
    )
    .await;
}

/// Bad arguments, an unknown store, a store that is down, a corrupt resume file: one line
/// on stderr, exit 2, never a panic.
#[test]
fn bad_arguments_and_unreachable_stores_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("position");
    std::fs::write(&corrupt, "not a cursor").unwrap();
    let files = dir.path().join("files").display().to_string();
    let files_again = files.clone();
    let cases: Vec<(Env, Vec<String>)> = vec![
        (vec![], vec!["frobnicate".into()]),
        (vec![], vec!["list-owner".into()]),
        (vec![], vec!["count".into(), "--no-such-flag".into()]),
        (vec![("SESSION_STORE", "nope".into())], vec!["count".into()]),
        (
            vec![("SESSION_STORE", "cookie".into())],
            vec!["count".into()],
        ),
        (
            vec![("SESSION_STORE", "memory".into())],
            vec!["count".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "redis".into()),
                ("REDIS_URL", "redis://127.0.0.1:1".into()),
            ],
            vec!["count".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "postgres".into()),
                ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x".into()),
            ],
            vec!["--json".into(), "count".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "file".into()),
                ("SESSION_DIR", files.clone()),
            ],
            vec!["migrate".into(), "--to".into(), "mysql://x".into()],
        ),
        (
            vec![
                ("SESSION_STORE", "file".into()),
                ("SESSION_DIR", files.clone()),
            ],
            vec![
                "migrate".into(),
                "--to".into(),
                "file:///tmp/x".into(),
                "--batch".into(),
                "0".into(),
            ],
        ),
        (
            vec![("SESSION_STORE", "file".into()), ("SESSION_DIR", files)],
            vec![
                "migrate".into(),
                "--to".into(),
                format!("file://{}", dir.path().join("to").display()),
                "--resume".into(),
                corrupt.display().to_string(),
            ],
        ),
        (
            vec![
                ("SESSION_STORE", "file".into()),
                ("SESSION_DIR", files_again),
            ],
            vec!["revoke-owner".into(), String::new()],
        ),
    ];
    for (env, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = admin(&env, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("session-admin: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

/// A migration started again with a `--resume` file goes on from the position the file
/// keeps: the records before it are not copied again. The position here is one a scan of
/// the source handed out after its first page, as a run that died there would have kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_resumes_from_the_position_its_file_keeps() {
    use typed_sessions::Store;
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let from: Env = vec![
        ("SESSION_STORE", "file".into()),
        ("SESSION_DIR", files.display().to_string()),
    ];
    {
        let demo = demo_on(&from).await;
        for _ in 0..12 {
            view(&browser(), Method::POST, format!("{}/visit", demo.base)).await;
        }
    }
    let source = typed_sessions::FileStore::open(&files).unwrap();
    let first = source.scan(None, 5).await.unwrap();
    let position = dir.path().join("position");
    std::fs::write(&position, first.next.unwrap().as_str()).unwrap();

    let target = dir.path().join("to");
    let url = format!("file://{}", target.display());
    let resume = position.display().to_string();
    let args = ["migrate", "--to", &url, "--resume", &resume, "--json"];
    assert_eq!(admin_json(&from, &args), serde_json::json!({"migrated": 7}));
    assert!(!position.exists(), "removed once the copy is done");
    let to: Env = vec![
        ("SESSION_STORE", "file".into()),
        ("SESSION_DIR", target.display().to_string()),
    ];
    assert_eq!(
        admin_json(&to, &["count", "--json"]),
        serde_json::json!({"live": 7})
    );
    // Without the file, the copy starts over and brings the first page too.
    let args = ["migrate", "--to", &url, "--json"];
    assert_eq!(admin_json(&from, &args), serde_json::json!({"migrated": 5}));
    assert_eq!(
        admin_json(&to, &["count", "--json"]),
        serde_json::json!({"live": 12})
    );
}

/// The binary on a Redis Cluster and on Redis Sentinel, named by the demo's variables and
/// their defaults (the set-ups `scripts/` starts): a user's sessions listed and revoked, and
/// the cluster's every master counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_reach_a_redis_cluster_and_a_sentinel_master() {
    for (store, script) in [
        ("redis-cluster", "redis-cluster"),
        ("redis-sentinel", "redis-sentinel"),
    ] {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let started = Command::new(root.join("scripts").join(script))
            .arg("start")
            .current_dir(&root)
            .output()
            .expect("the script runs");
        assert!(started.status.success(), "{script}: {started:?}");
        let env: Env = vec![("SESSION_STORE", store.into())];
        let demo = demo_on(&env).await;
        let user = unique("cluster");
        let browsers = three_sessions(&demo, &user).await;
        let live = admin_json(&env, &["count", "--json"])["live"]
            .as_u64()
            .unwrap();
        assert!(live >= 3, "{store}: {live}");
        let listed = admin_json(&env, &["list-owner", &user, "--json"]);
        assert_eq!(listed.as_array().unwrap().len(), 2, "{store}");
        let revoked = admin_json(&env, &["revoke-owner", &user, "--json"]);
        assert_eq!(revoked, serde_json::json!({"revoked": 2}), "{store}");
        let after = view(&browsers[0], Method::GET, format!("{}/session", demo.base)).await;
        assert_eq!(after.user, None, "{store}: logged out by session-admin");
    }
}
