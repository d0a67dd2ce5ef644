//! DBSC through the demo (`DEMO_DBSC=1`) on every store, driven by a browser's side written
//! from the specification (`typed_sessions::test::DbscDevice`): registration on login,
//! refresh after the bound cookie expires, copied cookies that stop working, a replayed
//! proof refused, log out everywhere ending the DBSC session, a browser without DBSC
//! going on as before, and the HTML page saying whether the session is bound.

mod support;

use reqwest::StatusCode;
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::Demo;
use typed_sessions::test::{DbscDevice, challenge_of, registration_offer, response_header};

/// Every store the demo runs on, and what each needs besides `SESSION_STORE`.
fn stores(dir: &std::path::Path) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("dbsc.db").display());
    vec![
        ("memory", vec![]),
        (
            "file",
            vec![("SESSION_DIR", dir.join("files").display().to_string())],
        ),
        ("sqlite", vec![("SQLITE_URL", sqlite)]),
        ("redis", vec![]),
        ("postgres", vec![]),
        ("cookie", vec![]),
        ("signed-cookie", vec![]),
    ]
}

/// A browser: its own cookie jar, its device key, its DBSC session once registered.
struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
    device: DbscDevice,
    session: Option<String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .build()
            .unwrap();
        Self {
            http,
            jar,
            base: base.to_owned(),
            device: DbscDevice::new(),
            session: None,
        }
    }

    /// The `Cookie` header this browser sends: what a thief copies.
    fn cookies(&self) -> String {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url).expect("cookies");
        header.to_str().unwrap().to_owned()
    }

    async fn post(&self, path: &str, headers: &[(&str, String)]) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send().await.expect("the demo answers")
    }

    async fn status(&self, path: &str) -> StatusCode {
        let reply = self.http.get(format!("{}{path}", self.base)).send().await;
        reply.expect("the demo answers").status()
    }

    /// Logs in as `user` and registers, as a browser with DBSC does.
    async fn log_in_and_register(&mut self, user: &str) {
        let login = self.post(&format!("/login/{user}"), &[]).await;
        let offer = login.headers()["secure-session-registration"]
            .to_str()
            .unwrap()
            .to_owned();
        let (path, challenge) = registration_offer(&offer).expect("an ES256 offer");
        assert_eq!(path, "/dbsc/start");
        let proof = self.device.registration_proof(&challenge);
        let reply = self
            .post(
                &path,
                &[("secure-session-response", response_header(&proof))],
            )
            .await;
        assert_eq!(reply.status(), StatusCode::OK);
        let instructions: Value = reply.json().await.unwrap();
        assert_eq!(instructions["credentials"][0]["name"], "bound");
        self.session = Some(
            instructions["session_identifier"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    /// Asks for a challenge: a 403 that carries one.
    async fn challenge(&self) -> String {
        let id = self.session.clone().unwrap();
        let ask = self
            .post(
                "/dbsc/refresh",
                &[("sec-secure-session-id", format!("\"{id}\""))],
            )
            .await;
        assert_eq!(ask.status(), StatusCode::FORBIDDEN);
        let header = ask.headers()["secure-session-challenge"].to_str().unwrap();
        let (challenge, named) = challenge_of(header).expect("a challenge");
        assert_eq!(named, id);
        challenge
    }

    /// Posts `proof` to the refresh endpoint.
    async fn answer(&self, proof: &str) -> reqwest::Response {
        let id = self.session.clone().unwrap();
        self.post(
            "/dbsc/refresh",
            &[
                ("sec-secure-session-id", format!("\"{id}\"")),
                ("secure-session-response", response_header(proof)),
            ],
        )
        .await
    }
}

async fn with_cookies(base: &str, cookies: &str, path: &str) -> StatusCode {
    let reply = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("cookie", cookies)
        .send()
        .await
        .expect("the demo answers");
    reply.status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_binds_sessions_to_their_device_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    for (store, extra) in stores(dir.path()) {
        let mut env: Vec<(&str, &str)> = vec![("DEMO_DBSC", "1"), ("DEMO_BOUND_SECS", "2")];
        env.extend(extra.iter().map(|(name, value)| (*name, value.as_str())));
        let demo = Demo::start_with(store, &env).await;
        let mut browser = Browser::new(&demo.base);
        browser.log_in_and_register("ada").await;
        assert_eq!(browser.status("/session").await, StatusCode::OK, "{store}");
        let page = browser
            .http
            .get(format!("{}/", demo.base))
            .send()
            .await
            .unwrap();
        assert!(
            page.text().await.unwrap().contains(r#"data-bound="true""#),
            "{store}"
        );

        // A thief copies every cookie: they work only as long as the bound cookie lives.
        let stolen = browser.cookies();
        assert_eq!(
            with_cookies(&demo.base, &stolen, "/session").await,
            StatusCode::OK,
            "{store}"
        );
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        assert_eq!(
            with_cookies(&demo.base, &stolen, "/session").await,
            StatusCode::UNAUTHORIZED,
            "{store}: a copy dies with its bound cookie"
        );

        // The browser refreshes with its key, and goes on.
        let challenge = browser.challenge().await;
        let proof = browser.device.refresh_proof(&challenge);
        assert_eq!(
            browser.answer(&proof).await.status(),
            StatusCode::OK,
            "{store}"
        );
        assert_eq!(browser.status("/session").await, StatusCode::OK, "{store}");
        if store != "cookie" && store != "signed-cookie" {
            // The same proof again: refused with a new challenge.
            let replay = browser.answer(&proof).await;
            assert_eq!(replay.status(), StatusCode::FORBIDDEN, "{store}: a replay");
        }

        // Log out everywhere from another device: the DBSC session ends at its refresh.
        let mut other = Browser::new(&demo.base);
        other.log_in_and_register("ada").await;
        let everywhere = other.post("/logout-everywhere", &[]).await;
        assert!(everywhere.status().is_success(), "{store}");
        let challenge_or_end = browser
            .post(
                "/dbsc/refresh",
                &[(
                    "sec-secure-session-id",
                    format!("\"{}\"", browser.session.clone().unwrap()),
                )],
            )
            .await;
        assert_eq!(challenge_or_end.status(), StatusCode::OK, "{store}");
        assert_eq!(
            challenge_or_end.json::<Value>().await.unwrap(),
            json!({ "continue": false }),
            "{store}"
        );

        // A browser without DBSC ignores the offer and keeps its session.
        let plain = Browser::new(&demo.base);
        assert!(plain.post("/login/grace", &[]).await.status().is_success());
        assert_eq!(
            plain.post("/visit", &[]).await.status(),
            StatusCode::OK,
            "{store}"
        );
        assert_eq!(plain.status("/session").await, StatusCode::OK, "{store}");
    }
}
