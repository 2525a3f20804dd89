//! `kvhost ui` as a child process on a free loopback port, over a registry
//! with a SQLite, a Redis and a memory store; and the same stores opened
//! through the library, to check what the page did and to write as another
//! process would.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kvhost::registry::Registry;
use kvhost::ui::{Token, UiServer};
use kvhost::{Bucket, Host};

use crate::backend::{connect_redis, runtime, unique_table};
use crate::{kvhost, kvhost_bin, text};

/// The stores' IDs.
pub const SQLITE: &str = "ui:files";
pub const REDIS: &str = "ui:cache";
pub const MEMORY: &str = "ui:scratch";

/// The token the tests start the key browser with.
pub const TOKEN: &str = "test-token-0123456789";

/// A registry with one store of each kind in a temporary folder; the Redis
/// store's keys are under a prefix of this test's own, removed on drop.
pub struct Stores {
    pub registry: PathBuf,
    rt: tokio::runtime::Runtime,
    /// Taken when dropped, to shut down.
    host: Option<Host>,
    _dir: tempfile::TempDir,
}

impl Stores {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        connect_redis(&rt);
        let prefix = unique_table("ui");
        let registry = dir.path().join("registry.yaml");
        let yaml = format!(
            "namespace: ui\nentries:\n  \
             - {{name: db, kind: db.sql.sqlite, file: {db}}}\n  \
             - {{name: files, kind: store.sql, database: ui:db, table_name: kv}}\n  \
             - {{name: redis, kind: db.redis}}\n  \
             - {{name: cache, kind: store.redis, database: ui:redis, key_prefix: \"{prefix}:\"}}\n  \
             - {{name: scratch, kind: store.memory}}\n",
            db = dir.path().join("kv.db").display()
        );
        std::fs::write(&registry, yaml).unwrap();
        let out = kvhost(&["schema", "--config", registry.to_str().unwrap(), SQLITE, "--apply"]);
        assert!(out.status.success(), "kvhost schema --apply: {}", text(&out).1);
        let host = Host::new(Registry::load(&[&registry]).unwrap());
        rt.block_on(host.start(&[SQLITE.to_owned(), REDIS.to_owned()])).unwrap();
        Self { registry, rt, host: Some(host), _dir: dir }
    }

    /// Store `id` as this process opens it.
    pub fn bucket(&self, id: &str) -> Bucket {
        self.host
            .as_ref()
            .expect("running")
            .catalog()
            .open(id)
            .unwrap_or_else(|| panic!("store {id} is not running here"))
    }

    /// The library's key browser over these stores, served by this process
    /// with `limits` (what `kvhost ui` cannot be given), until the returned
    /// [`InProcessUi`] is stopped or these stores are dropped.
    pub fn serve_ui(&self, limits: kvhost::serve::ServeLimits) -> InProcessUi {
        let catalog = self.host.as_ref().expect("running").catalog().clone();
        let server = UiServer::new(catalog, Token::new(TOKEN).unwrap()).serve_limits(limits);
        let listener = self.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, shutdown) = tokio::sync::oneshot::channel::<()>();
        let (done, stopped) = mpsc::channel();
        self.rt.spawn(async move {
            server.serve(listener, async { drop(shutdown.await) }).await.unwrap();
            let _ = done.send(());
        });
        InProcessUi { addr, stop: Some(stop), stopped }
    }

    /// Run `f` on this process's runtime.
    pub fn block_on<T>(&self, f: impl Future<Output = T>) -> T {
        self.rt.block_on(f)
    }
}

impl Drop for Stores {
    fn drop(&mut self) {
        let redis = self.bucket(REDIS);
        let _ = self.rt.block_on(async { redis.clear().await });
        if let Some(host) = self.host.take() {
            self.rt.block_on(host.shutdown());
        }
    }
}

/// A key browser served by the test's own process ([`Stores::serve_ui`]).
pub struct InProcessUi {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: mpsc::Receiver<()>,
}

impl InProcessUi {
    /// Shut the server down; whether `UiServer::serve` returned within
    /// `bound`.
    pub fn shut_down(&mut self, bound: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.stopped.recv_timeout(bound).is_ok()
    }
}

/// A running `kvhost ui`; killed when dropped.
pub struct Ui {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The URL it printed, with the token.
    pub printed: String,
}

impl Ui {
    /// `kvhost ui --addr 127.0.0.1:0 --config REGISTRY ARGS` with [`TOKEN`],
    /// once it has printed its URL.
    pub fn start(stores: &Stores, args: &[&str]) -> Self {
        let mut child = Command::new(kvhost_bin())
            .args(["ui", "--addr", "127.0.0.1:0", "--config", stores.registry.to_str().unwrap()])
            .args(args)
            .env("KVHOST_UI_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start kvhost ui");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let status = child.wait().unwrap();
            panic!("kvhost ui printed no URL ({status})");
        };
        let printed =
            line.strip_prefix("Key browser: ").unwrap_or_else(|| panic!("unexpected line {line:?}")).to_owned();
        let url = printed.split("/?").next().unwrap().to_owned();
        Self { child, url, printed }
    }

    /// `host:port`, as a browser sends it in `Host`.
    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// A raw HTTP/1.1 request (for headers a client library sets itself,
    /// such as `Host`); the status line and headers, and the body.
    pub fn raw(&self, request: &str) -> (String, String) {
        let mut stream = TcpStream::connect(self.authority()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (head.to_owned(), body.to_owned())
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
