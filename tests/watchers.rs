//! Watcher components (`watch:` in the registry) run by a [`Host`]: the Rust
//! audit-log watcher (guest-examples/rust-watcher, draft2 and draft) and the
//! Python index watcher (guest-examples/python-watcher) on memory stores.
//! Every wait polls the store or the metrics until a condition holds (30 s
//! at most); nothing asserts on wall-clock time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kvhost::metrics::Metrics;
use kvhost::registry::Registry;
use kvhost::{Bucket, ComponentExit, EntryState, Host};
use kvhost_tests::guests::{Lang, guest};
use kvhost_tests::{build_rust_guest, build_rust_guest_with};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The Rust audit-log watcher, exporting draft2.
fn rust_watcher() -> PathBuf {
    build_rust_guest("rust-watcher", "kv_watcher")
}

/// The `users` command built beside it.
fn users_command() -> PathBuf {
    build_rust_guest("rust-watcher", "users")
}

/// A registry and its components running in this process.
struct Running {
    host: Arc<Host>,
    metrics: Metrics,
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<ComponentExit>>,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Load `yaml` (`namespace: app`, with `WATCHER` replaced by the path
    /// of `watcher`) and run its components; return once `app:watcher` is
    /// ready (listening).
    async fn start(yaml: &str, watcher: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reg.yaml");
        let yaml = yaml.replace("WATCHER", &watcher.display().to_string());
        std::fs::write(&file, &yaml).unwrap();
        let registry = Registry::load(&[&file]).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let metrics = Metrics::new();
        let host = Arc::new(Host::builder(registry).metrics(metrics.clone()).build());
        let runner = Arc::new(host.guest_runner().unwrap());
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn({
            let host = host.clone();
            async move { host.run_components(runner, shutdown).await.unwrap() }
        });
        let ready = tokio::time::timeout(Duration::from_secs(60), host.status().ready("app:watcher")).await;
        assert_eq!(ready, Ok(Ok(())), "the watcher did not become ready: {:?}", host.status());
        assert_eq!(host.status().get("app:watcher"), Some(EntryState::Watching));
        Self { host, metrics, stop, task, _dir: dir }
    }

    /// The store `id`, every key, read and write.
    fn store(&self, id: &str) -> Bucket {
        self.host.catalog().open(id).expect("started")
    }

    /// kvhost_watcher_calls_total of app:watcher with this outcome.
    fn calls(&self, outcome: &str) -> u64 {
        metric(&self.metrics, &format!("kvhost_watcher_calls_total{{component=\"app:watcher\",outcome=\"{outcome}\"}}"))
    }

    /// Stop the components; how each ended.
    async fn stop(self) -> Vec<ComponentExit> {
        self.stop.send_replace(true);
        let exits = self.task.await.unwrap();
        Arc::into_inner(self.host).expect("no other handle").shutdown().await;
        exits
    }
}

/// The value of one sample (`name{labels}`) in the metrics text; 0 if absent.
fn metric(metrics: &Metrics, sample: &str) -> u64 {
    let text = metrics.encode();
    text.lines().find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse::<f64>().ok())).map_or(0, |v| v as u64)
}

/// Poll `check` until it holds (30 s at most).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..3000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 30 s");
}

/// Every key under `prefix` with its value, in key order.
async fn dump(bucket: &Bucket, prefix: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = bucket.list(prefix, cursor.as_deref(), 0).await.unwrap();
        for key in page.keys {
            let value = bucket.get(&key).await.unwrap().unwrap_or_default();
            out.push((key, String::from_utf8_lossy(&value).into_owned()));
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    out.sort();
    out
}

/// The audit log's lines, in order.
async fn audit(bucket: &Bucket, prefix: &str) -> Vec<String> {
    let seq = format!("{prefix}seq");
    dump(bucket, prefix).await.into_iter().filter(|(k, _)| *k != seq).map(|(_, v)| v).collect()
}

async fn audit_count(bucket: &Bucket, prefix: &str) -> u64 {
    let seq = bucket.get(&format!("{prefix}seq")).await.unwrap();
    seq.map_or(0, |v| String::from_utf8(v).unwrap().parse().unwrap())
}

const AUDIT_USERS: &str = r#"
namespace: app
entries:
  - {name: kv, kind: store.memory}
  - name: watcher
    kind: wasm.component
    path: WATCHER
    stores: [app:kv]
    watch: [{store: app:kv, prefix: "user:"}]
    lifecycle: {auto_start: true}
"#;

/// Sets, a set-many, an increment and deletes under `user:`, with writes
/// outside it between them; then what the audit log must say.
async fn write_users(kv: &Bucket) -> Vec<String> {
    kv.set("user:1", "Ada", None).await.unwrap();
    kv.set("order:1", "tea", None).await.unwrap();
    kv.set("user:2", "Grace", None).await.unwrap();
    kv.set("user:1", "Ada Lovelace", None).await.unwrap();
    kv.set_many(&[("user:3".into(), b"Edsger".to_vec()), ("users".into(), b"x".to_vec())], None).await.unwrap();
    kv.increment("user:count", 5).await.unwrap();
    kv.delete("user:2").await.unwrap();
    kv.delete("order:1").await.unwrap();
    kv.delete("user:missing").await.unwrap();
    kv.delete_many(&["user:3".into(), "users".into()]).await.unwrap();
    kv.set("user:end", "done", None).await.unwrap();
    [
        "set user:1 Ada",
        "set user:2 Grace",
        "set user:1 Ada Lovelace",
        "set user:3 Edsger",
        "set user:count 5",
        "delete user:2",
        "delete user:3",
        "set user:end done",
    ]
    .map(String::from)
    .to_vec()
}

async fn sees_every_change_under_its_prefix(watcher: PathBuf) {
    let running = Running::start(AUDIT_USERS, &watcher).await;
    let kv = running.store("app:kv");
    let expected = write_users(&kv).await;
    eventually("the last change logged", async || audit(&kv, "audit:").await.last() == expected.last()).await;
    assert_eq!(audit(&kv, "audit:").await, expected, "every change under user:, in order, nothing else");
    assert_eq!(running.calls("ok"), expected.len() as u64);
    for exit in running.stop().await {
        assert_eq!(exit.state, EntryState::Stopped, "{}", exit.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_watcher_sees_every_set_and_delete_under_its_prefix_and_nothing_else() {
    sees_every_change_under_its_prefix(rust_watcher()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_of_the_older_draft_is_called_too() {
    let draft = build_rust_guest_with("rust-watcher", "kv_watcher", &["--features", "draft"], "target/guests-draft");
    sees_every_change_under_its_prefix(draft).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_to_one_key_reach_the_watcher_in_order_under_concurrent_writers() {
    let running = Running::start(AUDIT_USERS, &rust_watcher()).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let kv = running.store("app:kv");
            tokio::spawn(async move {
                for i in 0..50 {
                    kv.set(&format!("user:{w}"), i.to_string(), None).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let kv = running.store("app:kv");
    eventually("200 changes logged", async || audit_count(&kv, "audit:").await == 200).await;
    let lines = audit(&kv, "audit:").await;
    for w in 0..4 {
        let values: Vec<u32> = lines
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("set user:{w} ")))
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(values, (0..50).collect::<Vec<_>>(), "user:{w}'s changes in the order they were made");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_watcher_keeps_an_index_of_every_set_and_delete_under_its_prefix() {
    let running = Running::start(AUDIT_USERS, &guest(Lang::PythonWatcher)).await;
    let kv = running.store("app:kv");
    kv.set("user:1", "ada", None).await.unwrap();
    kv.set("user:2", "bob", None).await.unwrap();
    kv.set("order:1", "tea", None).await.unwrap();
    kv.set("user:1", "cy", None).await.unwrap();
    kv.delete("user:2").await.unwrap();
    kv.delete("order:1").await.unwrap();
    eventually("the delete indexed", async || kv.exists("stats:deletes").await.unwrap()).await;
    let kept: Vec<(String, String)> =
        dump(&kv, "").await.into_iter().filter(|(k, _)| !k.starts_with("user:")).collect();
    let expected = [("index:cy:1", "user:1"), ("shadow:1", "cy"), ("stats:deletes", "1"), ("stats:sets", "3")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let calls = (running.calls("ok"), running.calls("trap"), running.calls("timeout"));
    assert_eq!(kept, expected, "sets and deletes of user: indexed, order: not seen; (ok, trap, timeout) = {calls:?}");
    assert_eq!(running.calls("ok"), 4);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_granted_a_prefix_sees_nothing_of_another() {
    let yaml = r#"
namespace: app
entries:
  - {name: kv, kind: store.memory}
  - name: watcher
    kind: wasm.component
    path: WATCHER
    stores: [{id: app:kv, prefix: "a/"}]
    watch: [{store: app:kv, prefix: "a/u/"}]
    env: {AUDIT_PREFIX: "a/log/"}
    lifecycle: {auto_start: true}
"#;
    let running = Running::start(yaml, &rust_watcher()).await;
    let kv = running.store("app:kv");
    kv.set("b/u/1", "other", None).await.unwrap();
    kv.set("a/u/1", "mine", None).await.unwrap();
    kv.set("b/u/2", "other", None).await.unwrap();
    kv.delete("b/u/1").await.unwrap();
    kv.set("a/u/end", "done", None).await.unwrap();
    eventually("a/u/end logged", async || audit_count(&kv, "a/log/").await == 2).await;
    assert_eq!(audit(&kv, "a/log/").await, ["set a/u/1 mine", "set a/u/end done"]);
    assert_eq!(running.calls("ok"), 2);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_traps_fails_only_those_calls() {
    let running = Running::start(AUDIT_USERS, &rust_watcher()).await;
    let kv = running.store("app:kv");
    for key in ["user:1", "user:trap-a", "user:2", "user:trap-b", "user:3"] {
        kv.set(key, "v", None).await.unwrap();
    }
    kv.delete("user:trap-a").await.unwrap();
    kv.set("user:4", "v", None).await.unwrap();
    eventually("every call made", async || running.calls("ok") + running.calls("trap") == 7).await;
    assert_eq!(running.calls("trap"), 3, "the set, set and delete of trap keys");
    assert_eq!(audit(&kv, "audit:").await, ["set user:1 v", "set user:2 v", "set user:3 v", "set user:4 v"]);
    assert_eq!(running.host.status().get("app:watcher"), Some(EntryState::Watching), "still watching");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_over_its_timeout_fails_that_call_only() {
    let yaml = AUDIT_USERS.replace("lifecycle:", "limits: {timeout: 5ms}\n    lifecycle:");
    let running = Running::start(&yaml, &rust_watcher()).await;
    let kv = running.store("app:kv");
    kv.set("user:slow", "v", None).await.unwrap(); // computes 20 ms
    kv.set("user:1", "v", None).await.unwrap();
    eventually("both calls made", async || running.calls("ok") + running.calls("timeout") == 2).await;
    assert_eq!(running.calls("timeout"), 1);
    assert_eq!(audit(&kv, "audit:").await, ["set user:1 v"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_watcher_does_not_hold_up_writers() {
    let running = Running::start(AUDIT_USERS, &rust_watcher()).await;
    let kv = running.store("app:kv");
    // 10 changes that take the watcher 20 ms of computing each, then more
    // than a watcher's queue holds.
    let total = 10 + kvhost::watch::QUEUE as u64 + 1000;
    for i in 0..10 {
        kv.set(&format!("user:slow{i}"), "v", None).await.unwrap();
    }
    for i in 10..total {
        kv.set(&format!("user:{i}"), "v", None).await.unwrap();
    }
    // Every write has returned: none waited for the watcher, which cannot
    // have handled them all yet.
    let handled_when_written = running.calls("ok");
    assert!(handled_when_written < total, "the writes finished before the watcher's calls");
    let missed = || metric(&running.metrics, "kvhost_watch_events_total{store=\"app:kv\",outcome=\"missed\"}");
    let accounted = || running.calls("ok") + running.calls("trap") + running.calls("timeout") + missed();
    eventually("every change handled or counted as missed", async || accounted() >= total).await;
    let counts = (running.calls("ok"), running.calls("trap"), running.calls("timeout"), missed());
    // The watcher's own audit writes share the store's queue: what it
    // missed may count some of them too, so `missed` bounds the lost
    // `user:` changes from above and the sum may pass `total`.
    assert!(counts.0 < total, "some changes were missed, not called: {counts:?}");
    assert!(accounted() >= total, "(ok, trap, timeout, missed) = {counts:?}");
    assert_eq!(counts.1 + counts.2, 0, "no call failed: {counts:?}");
    assert!(missed() > 0, "what overflowed the watcher's queue is counted");
    assert_eq!(audit_count(&kv, "audit:").await, running.calls("ok"));
    running.stop().await;
}

#[test]
fn a_registry_with_a_watch_outside_the_grant_is_refused_naming_watch() {
    let yaml = r#"
namespace: app
entries:
  - {name: kv, kind: store.memory}
  - name: audit
    kind: wasm.component
    path: reg.yaml
    stores: [{id: app:kv, prefix: "a/"}]
    watch: [{store: app:kv, prefix: "b/"}]
"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reg.yaml");
    std::fs::write(&file, yaml).unwrap();
    let err = Registry::load(&[&file]).unwrap_err().to_string();
    assert!(err.contains("entry app:audit: field `watch[0]`"), "{err}");
    assert!(
        err.contains("store app:kv with prefix \"b/\" is outside the component's grant (keys starting with \"a/\")"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_requires_a_watcher_starts_once_it_listens() {
    // users writes four user: changes at once when it starts, then waits
    // for the fourth audit line: it succeeds only if the watcher was
    // listening before its first write.
    let yaml = format!(
        "{AUDIT_USERS}  - name: users\n    kind: wasm.component\n    path: {}\n    default_store: app:kv\n    \
         lifecycle: {{auto_start: true, requires: [app:watcher]}}\n",
        users_command().display()
    );
    let running = Running::start(&yaml, &rust_watcher()).await;
    let status = running.host.status();
    eventually("users finished", async || status.get("app:users").is_some_and(|s| s.is_over())).await;
    assert_eq!(status.get("app:users"), Some(EntryState::Finished(0)), "{status:?}");
    let kv = running.store("app:kv");
    assert_eq!(audit_count(&kv, "audit:").await, 4, "{:?}", dump(&kv, "").await);
    let exits = running.stop().await;
    assert!(exits.iter().all(ComponentExit::succeeded), "{exits:?}");
}
