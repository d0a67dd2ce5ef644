//! Headless Chromium through ChromeDriver (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs), for the tests where a real browser is the client.

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// ChromeDriver, stopped with its browsers (by its process group) when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// ChromeDriver on a port of its own, once it answers.
    pub async fn start() -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "{CHROMEDRIVER} and {CHROMIUM} are needed: apt-get install chromium chromium-driver"
        );
        let port = super::unused_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", driver.url);
        for _ in 0..100 {
            if reqwest::get(&status)
                .await
                .is_ok_and(|reply| reply.status().is_success())
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {status}");
    }

    /// A headless Chromium with a profile of its own, kept off the network but loopback.
    pub async fn browser(&self, profile: &std::path::Path) -> Client {
        self.browser_with(profile, &[]).await
    }

    /// `browser`, with more command-line switches.
    pub async fn browser_with(&self, profile: &std::path::Path, more: &[String]) -> Client {
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        args.extend(more.iter().cloned());
        let capabilities = serde_json::json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

/// Stops ChromeDriver and every browser it started: they share its process group, so a
/// test that fails before closing its browser leaves no Chromium behind.
impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// The text of element `id`, once the page has it.
pub async fn text_of(browser: &Client, id: &str) -> String {
    let element = browser.wait().for_element(Locator::Id(id)).await.unwrap();
    element.text().await.unwrap()
}

/// Clicks the button `id`, which submits a form, and waits for the page it leads to: until
/// then, the page before it is still there to be found (a race CI once lost).
pub async fn click(browser: &Client, id: &str) {
    let before = browser.find(Locator::Css("html")).await.unwrap();
    browser
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..200 {
        if let Err(fantoccini::error::CmdError::Standard(error)) = before.tag_name().await
            && error.error == fantoccini::error::ErrorStatus::StaleElementReference
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("clicking {id} led to no new page within 5 s");
}

/// Opens `base` and logs in as `user` through the page's form, and sees that it did.
pub async fn log_in(browser: &Client, base: &str, user: &str) {
    browser.goto(base).await.unwrap();
    let name = browser
        .wait()
        .for_element(Locator::Id("name"))
        .await
        .unwrap();
    name.send_keys(user).await.unwrap();
    click(browser, "login").await;
    assert_eq!(
        text_of(browser, "user").await,
        format!("Logged in as {user}")
    );
}
