//! How long from an acknowledged write to a watcher guest's call, on a memory
//! store in one process: `cargo run --release -p kvhost-tests --example
//! watcher_latency [N]`. Not a test: it prints figures and asserts nothing.
//!
//! The Rust audit watcher (guest-examples/rust-watcher) watches `user:`;
//! each round sets one `user:` key and waits, on an embedder's watch of
//! `audit:`, for the line the watcher writes from `on-set`. The time from
//! the write's return to that line covers the queue, a fresh instance, the
//! call and the guest's two store operations: an upper bound of the time to
//! `on-set`. Rounds run one at a time, so no change waits behind another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kvhost::registry::Registry;
use kvhost::watch::Event;
use kvhost::{EntryState, Host};
use kvhost_tests::build_rust_guest;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args().nth(1).map_or(3000, |n| n.parse().expect("N"));
    let watcher = build_rust_guest("rust-watcher", "kv_watcher");
    let yaml = format!(
        "namespace: app\nentries:\n  - {{name: kv, kind: store.memory}}\n  - name: watcher\n    kind: wasm.component\n    \
         path: {}\n    stores: [app:kv]\n    watch: [{{store: app:kv, prefix: \"user:\"}}]\n    lifecycle: {{auto_start: true}}\n",
        watcher.display()
    );
    let host = Arc::new(Host::new(Registry::from_yaml("latency.yaml", &yaml).unwrap()));
    let runner = Arc::new(host.guest_runner().unwrap());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn({
        let host = host.clone();
        async move { host.run_components(runner, shutdown).await.unwrap() }
    });
    host.status().ready("app:watcher").await.unwrap();
    assert_eq!(host.status().get("app:watcher"), Some(EntryState::Watching));
    let kv = host.catalog().open("app:kv").unwrap();
    let mut audit = kv.watch("audit:0").unwrap();
    let mut took = Vec::with_capacity(rounds);
    for i in 0..rounds + 200 {
        kv.set(&format!("user:{i}"), "v", None).await.unwrap();
        let acked = Instant::now();
        loop {
            match tokio::time::timeout(Duration::from_secs(10), audit.next()).await {
                Ok(Some(Event::Set { .. })) => break,
                Ok(Some(other)) => panic!("unexpected {other:?}"),
                Ok(None) | Err(_) => panic!("no audit line for user:{i}"),
            }
        }
        if i >= 200 {
            took.push(acked.elapsed()); // the first 200 warm up
        }
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    println!(
        "write -> watcher guest's on-set (its audit line seen), memory, one process, {rounds} changes: \
         p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.90),
        at(0.99),
        took[took.len() - 1]
    );
    stop.send_replace(true);
    task.await.unwrap();
    Arc::into_inner(host).unwrap().shutdown().await;
}
