//! A real headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`; `scripts/test` installs them when missing). Each test starts its own
//! chromedriver on a free port, so tests run in parallel.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::{Child, Command};

/// How long a page may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

/// chromedriver in a process group of its own, with the Chromium it starts: dropping it
/// (also when a test panics before `close`) kills the whole group, so no browser outlives
/// its test.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn program(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.to_string())
}

impl Browser {
    /// A browser `width` pixels wide.
    pub async fn start(width: u32) -> Browser {
        Browser::start_with(width, &[]).await
    }

    /// A browser `width` pixels wide whose pages see `prefers-color-scheme: dark`.
    pub async fn start_dark(width: u32) -> Browser {
        Browser::start_with(width, &["--blink-settings=preferredColorScheme=0"]).await
    }

    /// A browser `width` pixels wide, with more Chromium arguments.
    pub async fn start_with(width: u32, extra_args: &[&str]) -> Browser {
        let driver_path = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = program("CHROMIUM", "/usr/bin/chromium");
        for p in [&driver_path, &chromium] {
            assert!(
                std::path::Path::new(p).exists(),
                "{p} is missing: install Debian's `chromium` and `chromium-driver` \
                 (scripts/test does), or set CHROMIUM / CHROMEDRIVER"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {driver_path}: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--window-size={width},900")])
        .chain(extra_args.iter().map(|a| a.to_string()))
        .collect();
        let mut options = serde_json::json!({ "binary": chromium, "args": args });
        // Chromium makes no window narrower than 500 px: a narrower page is emulated
        // (its layout viewport is then `width` CSS pixels).
        if width < 500 {
            options["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": width, "height": 800, "pixelRatio": 1.0 }
            });
        }
        let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(
            serde_json::json!({ "browserName": "chrome", "goog:chromeOptions": options }),
        )
        .expect("capabilities");
        // chromedriver takes a moment to listen: retry the connection until the deadline.
        // fantoccini's client speaks rustls (unused on plain http, but it needs a provider).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let deadline = Instant::now() + WAIT;
        let client = loop {
            match ClientBuilder::rustls()
                .expect("rustls")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("no WebDriver session from {driver_path}: {e}"),
            }
        };
        Browser {
            client,
            _driver: Driver(driver),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The element once it is on the page (waits up to [`WAIT`]).
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => panic!("no `{css}` on {}: {e}", self.url().await),
        }
    }

    /// Waits until the element's text satisfies `pred`; answers the text.
    pub async fn wait_text(&self, css: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if pred(&text) {
                        return text;
                    }
                    last = text;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "`{css}` never showed the expected text on {}; last: {last:?}",
            self.url().await
        )
    }

    /// The value a script returns in the page (`return ...;`).
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script:?} failed: {e}"))
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clear");
        el.send_keys(value).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Signs in through the form with `token`.
    pub async fn sign_in(&self, base: &str, token: &str) {
        self.goto(&format!("{base}/sign-in")).await;
        self.fill("#token", token).await;
        self.click("form[action='/sign-in'] button[type=submit]")
            .await;
        self.find("header.top .owner").await;
    }

    /// A screenshot of the page, saved as `<target>/ui-screenshots/<name>.png` (CI keeps the
    /// folder as a build artifact; the best ones are copied to `docs/`).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// `$UI_SCREENSHOTS_DIR`, or `ui-screenshots` beside this test's target tmp dir.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("UI_SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../ui-screenshots"))
}
