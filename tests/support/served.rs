//! `kvhost serve` as a child process on a free loopback port, and a plain
//! HTTP client for it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::{build_rust_guest, kvhost_bin};

/// The HTTP guest (`guest-examples/rust-http`).
pub fn http_guest() -> PathBuf {
    build_rust_guest("rust-http", "http_kv")
}

/// A running `kvhost serve`; killed when dropped.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    log: Arc<Mutex<String>>,
    logger: Option<std::thread::JoinHandle<()>>,
    agent: ureq::Agent,
}

/// A response: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Served {
    /// `kvhost serve --addr 127.0.0.1:0 ARGS GUEST`, once it listens.
    pub fn start(args: &[&str], guest: &std::path::Path) -> Self {
        let mut child = Command::new(kvhost_bin())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .arg(guest)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (listening, url) = mpsc::channel();
        let sink = log.clone();
        let logger = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Serving HTTP on ") {
                    let _ = listening.send(url.trim_end_matches('/').to_owned());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let Ok(url) = url.recv_timeout(Duration::from_secs(120)) else {
            let status = child.wait().unwrap();
            panic!("kvhost serve did not start ({status}):\n{}", log.lock().unwrap());
        };
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Self { child, url, log, logger: Some(logger), agent }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn get(&self, path: &str) -> Reply {
        reply(self.agent.get(format!("{}{path}", self.url)).call())
    }

    pub fn put(&self, path: &str, body: &str) -> Reply {
        reply(self.agent.put(format!("{}{path}", self.url)).send(body))
    }

    pub fn delete(&self, path: &str) -> Reply {
        reply(self.agent.delete(format!("{}{path}", self.url)).call())
    }

    /// Send SIGTERM and wait for the server to exit; its status and log.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().unwrap();
        // The log thread ends with the pipe.
        if let Some(logger) = self.logger.take() {
            let _ = logger.join();
        }
        (status, self.log())
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    Reply { status, body }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
