//! Debian's headless chromium driven over WebDriver (chromedriver), for the
//! key browser's page.

use std::future::Future;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::needs::Need;
use crate::webdriver::{Element, Session};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// A chromedriver with one headless chromium session; both end on drop.
pub struct Chrome {
    pub session: Session,
    driver: Child,
    /// Whether the session is still to be ended (by `close` or `drop`).
    open: bool,
    _profile: tempfile::TempDir,
}

impl Chrome {
    /// Start chromedriver on a free port and a headless chromium session.
    /// Fails naming the fix when either is missing.
    pub async fn start() -> Self {
        Need::Chromium.check();
        for tool in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(tool).exists() {
                Need::Chromium.missing(format!("{tool} does not exist (Debian packages chromium, chromium-driver)"));
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| Need::Chromium.missing(format!("cannot run {CHROMEDRIVER}: {e}")));
        let stdout = driver.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("started successfully") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(PATIENCE).is_err() {
            let _ = driver.kill();
            Need::Chromium.missing(format!("{CHROMEDRIVER} --port={port} did not say it started"));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1400,900", "--no-first-run", "--disable-extensions",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let webdriver = format!("http://127.0.0.1:{port}");
        let session = match Session::new(&webdriver, serde_json::Value::Object(capabilities)) {
            Ok(session) => session,
            Err(e) => {
                let _ = driver.kill();
                Need::Chromium.missing(format!("chromedriver cannot start {CHROMIUM}: {e}"));
            }
        };
        Self { session, driver, open: true, _profile: profile }
    }

    /// Poll `check` until it gives `Some`, failing with `what` after
    /// [`PATIENCE`]. (The page updates on its own time: this waits for it,
    /// never for a clock.)
    pub async fn eventually<T, F: Future<Output = Option<T>>>(&self, what: &str, mut check: impl FnMut() -> F) -> T {
        let started = Instant::now();
        loop {
            if let Some(done) = check().await {
                return done;
            }
            assert!(started.elapsed() < PATIENCE, "the page never showed {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the first element matching `css`, or `""` if none does.
    pub async fn text(&self, css: &str) -> String {
        match self.session.find(css) {
            Ok(element) => element.text().unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Wait until `css` matches an element whose text contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        self.eventually(&format!("{needle:?} in {css}"), || async {
            let text = self.text(css).await;
            text.contains(needle).then_some(text)
        })
        .await
    }

    /// Wait until the first element matching `css` has exactly `text`.
    pub async fn wait_exact(&self, css: &str, text: &str) {
        self.eventually(&format!("{text:?} as {css}"), || async { (self.text(css).await == text).then_some(()) }).await;
    }

    /// Wait until `css` matches an element, and give it.
    pub async fn element(&self, css: &str) -> Element<'_> {
        self.eventually(&format!("an element {css}"), || async { self.session.find(css).ok() }).await
    }

    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        element.click().unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Replace the value of the input matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        element.clear().unwrap_or_else(|e| panic!("cannot clear {css}: {e}"));
        if !text.is_empty() {
            element.send_keys(text).unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
        }
    }

    /// The result of a script run in the page.
    pub async fn script(&self, script: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
        self.session.execute(script, args).unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// End the session and the driver.
    pub async fn close(mut self) {
        let _ = self.session.close();
        self.open = false;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // A test that failed did not close the session: end it, so that
        // chromedriver quits its chromium, then stop chromedriver.
        if self.open {
            let _ = self.session.close();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
