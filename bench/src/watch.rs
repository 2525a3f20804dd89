//! Measures 13: watching. Writer time per set with 0, 1 and 10 watchers on
//! the store (memory, Redis), in interleaved rounds; and the latency from a
//! write to a watcher's receipt: memory in one process, Redis and PostgreSQL
//! across two processes (the second is `kvhost watch --json`, reading what
//! the first writes through its own connection); and from a write to a
//! watcher guest's `on-set`, on memory in one process.
//!
//! Watchers drain their queues on a runtime of one worker thread beside the
//! writer's thread: on this 2-core machine, the writer and all its watchers
//! share two cores, as they would on a small server.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kvhost::registry::Registry;
use kvhost::{Bucket, Host, Wait};
use kvhost_tests::backend::unique_table;
use kvhost_tests::kvhost_bin;

use crate::measure::{Report, Sampler, interleaved, timed};

const WATCHERS: [usize; 3] = [0, 1, 10];

pub fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    println!("watch");
    let dir = tempfile::tempdir()?;
    let table = unique_table("bench_watch");
    let prefix = format!("{table}:");
    let yaml = format!(
        "namespace: bench\nentries:\n\
         - {{name: m0, kind: store.memory, max_size: 0}}\n\
         - {{name: m1, kind: store.memory, max_size: 0}}\n\
         - {{name: m10, kind: store.memory, max_size: 0}}\n\
         - {{name: lat, kind: store.memory, max_size: 0}}\n\
         - {{name: redis, kind: db.redis}}\n\
         - {{name: r0, kind: store.redis, database: bench:redis, key_prefix: '{prefix}0:'}}\n\
         - {{name: r1, kind: store.redis, database: bench:redis, key_prefix: '{prefix}1:'}}\n\
         - {{name: r10, kind: store.redis, database: bench:redis, key_prefix: '{prefix}10:'}}\n\
         - {{name: pg, kind: db.sql.postgres, host: 127.0.0.1, port: 5432, username: postgres, database: test}}\n\
         - {{name: pgkv, kind: store.sql, database: bench:pg, table_name: {table}}}\n"
    );
    let file = dir.path().join("watch.yaml");
    std::fs::write(&file, &yaml)?;
    let file = file.to_str().expect("a UTF-8 temporary path").to_owned();
    let applied = Command::new(kvhost_bin()).args(["schema", "--config", &file, "bench:pgkv", "--apply"]).output()?;
    anyhow::ensure!(applied.status.success(), "kvhost schema --apply: {}", String::from_utf8_lossy(&applied.stderr));

    let runtime = tokio::runtime::Runtime::new()?;
    let host = Host::new(Registry::from_yaml(&file, &yaml)?);
    let ids: Vec<String> =
        ["m0", "m1", "m10", "lat", "r0", "r1", "r10", "pgkv"].iter().map(|s| format!("bench:{s}")).collect();
    runtime.block_on(host.start(&ids))?;
    let open = |id: &str| host.catalog().open(&format!("bench:{id}")).expect("started");
    let watchers = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;

    writers(report, &watchers, "memory", [open("m0"), open("m1"), open("m10")], 100_000 * scale)?;
    writers(report, &watchers, "redis", [open("r0"), open("r1"), open("r10")], 2_000 * scale)?;
    memory_latency(report, &watchers, &open("lat"), 10_000 * scale)?;
    cross_process_latency(report, &file, "redis", &open("r0"), 1_000 * scale)?;
    cross_process_latency(report, &file, "postgres", &open("pgkv"), 1_000 * scale)?;
    runtime.block_on(host.shutdown());
    runtime.block_on(guest_latency(report, 1_000 * scale as usize))?;
    Ok(())
}

/// A write's return to the watcher guest's `on-set`, on a memory store in
/// one process: the Rust audit watcher (guest-examples/rust-watcher) watches
/// `user:` and writes an `audit:` line from `on-set`; each round sets one
/// `user:` key and waits, on an embedder's watch of `audit:`, for that line.
/// This covers the queue, a fresh instance, the call and the guest's two
/// store operations: an upper bound of the time to `on-set`. Rounds run one
/// at a time, so no change waits behind another.
async fn guest_latency(report: &mut Report, rounds: usize) -> anyhow::Result<()> {
    use std::sync::Arc;
    let watcher = kvhost_tests::build_rust_guest("rust-watcher", "kv_watcher");
    let yaml = format!(
        "namespace: app\nentries:\n  - {{name: kv, kind: store.memory, max_size: 0}}\n  - name: watcher\n    kind: wasm.component\n    \
         path: {}\n    stores: [app:kv]\n    watch: [{{store: app:kv, prefix: \"user:\"}}]\n    lifecycle: {{auto_start: true}}\n",
        watcher.display()
    );
    let host = Arc::new(Host::new(Registry::from_yaml("latency.yaml", &yaml)?));
    let runner = Arc::new(host.guest_runner()?);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn({
        let host = host.clone();
        async move { host.run_components(runner, shutdown).await }
    });
    if let Err(state) = host.status().ready("app:watcher").await {
        anyhow::bail!("the watcher did not start: {state:?}");
    }
    let kv = host.catalog().open("app:kv").expect("started");
    // Audit lines are `audit:0000000N`; the counter `audit:seq` is not one.
    let mut audit = kv.watch("audit:0")?;
    let mut took = Vec::with_capacity(rounds);
    // The first 200 rounds warm up.
    for i in 0..rounds + 200 {
        kv.set(&format!("user:{i}"), "v", None).await?;
        let acked = Instant::now();
        match tokio::time::timeout(Duration::from_secs(10), audit.next()).await {
            Ok(Some(kvhost::watch::Event::Set { .. })) => {}
            other => anyhow::bail!("no audit line for user:{i}: {other:?}"),
        }
        if i >= 200 {
            took.push(acked.elapsed().as_nanos() as f64);
        }
    }
    stop.send_replace(true);
    task.await??;
    if let Some(host) = Arc::into_inner(host) {
        host.shutdown().await;
    }
    percentiles(report, "13.memory.write_to_guest_on_set", took, 1_000_000.0);
    Ok(())
}

/// Writer time per set on three like stores with 0, 1 and 10 watchers.
fn writers(
    report: &mut Report,
    watchers: &tokio::runtime::Runtime,
    name: &str,
    buckets: [Bucket; 3],
    n: u64,
) -> anyhow::Result<()> {
    for (bucket, &count) in buckets.iter().zip(&WATCHERS) {
        for _ in 0..count {
            let mut watch = bucket.watch("")?;
            watchers.spawn(async move { while watch.next().await.is_some() {} });
        }
    }
    let value = [7u8; 100];
    let mut samplers: Vec<Sampler<'_>> = buckets
        .iter()
        .map(|b| {
            let mut i = 0u64;
            Box::new(move || {
                let ns = timed(n, || {
                    i += 1;
                    b.set(&format!("k{}", i % 1000), &value[..], None).wait().expect("set");
                });
                Ok(ns)
            }) as Sampler<'_>
        })
        .collect();
    let spreads = interleaved(5, &mut samplers)?;
    let base = format!("13.{name}.set_0_watchers");
    for (spread, count) in spreads.into_iter().zip(WATCHERS) {
        let line = format!("13.{name}.set_{count}_watchers");
        report.add_spread(&line, spread, (count > 0).then_some(base.as_str()));
    }
    // Throughput with 10 watchers >= 0.90x that with none: time <= 1/0.9.
    report.target(&format!("13.{name}.set_10_watchers"), 1.0 / 0.9);
    Ok(())
}

/// Nanoseconds since the Unix epoch: the clock both processes share.
fn stamp() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Write `n` stamped values, one every `every`, and return the latencies
/// (ns from the start of each write to its receipt) that `received` reports.
fn paced_writes(bucket: &Bucket, n: u64, every: Duration, received: &mpsc::Receiver<u64>) -> anyhow::Result<Vec<f64>> {
    let mut next = Instant::now();
    for i in 0..n {
        while Instant::now() < next {
            std::hint::spin_loop();
        }
        next += every;
        bucket.set(&format!("lat{}", i % 100), stamp().to_string(), None).wait()?;
    }
    let mut latencies = Vec::with_capacity(n as usize);
    while latencies.len() < n as usize {
        let ns = received
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| anyhow::anyhow!("the watcher received {} of {n} changes within 30 s", latencies.len()))?;
        latencies.push(ns as f64);
    }
    Ok(latencies)
}

fn percentiles(report: &mut Report, name: &str, mut ns: Vec<f64>, p99_max: f64) {
    ns.sort_by(f64::total_cmp);
    let at = |p: f64| ns[((ns.len() as f64 * p) as usize).min(ns.len() - 1)];
    report.add_value(&format!("{name}_p50"), at(0.50), "ns", None);
    report.add_value(&format!("{name}_p99"), at(0.99), "ns", Some(p99_max));
}

/// A write's start to a watcher's receipt, in one process.
fn memory_latency(
    report: &mut Report,
    watchers: &tokio::runtime::Runtime,
    bucket: &Bucket,
    n: u64,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel();
    let mut watch = bucket.watch("")?;
    watchers.spawn(async move {
        while let Some(kvhost::watch::Event::Set { value, .. }) = watch.next().await {
            let sent: u64 = std::str::from_utf8(&value).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            if tx.send(stamp().saturating_sub(sent)).is_err() {
                break;
            }
        }
    });
    let latencies = paced_writes(bucket, n, Duration::from_micros(20), &rx)?;
    percentiles(report, "13.memory.write_to_watcher", latencies, 1_000_000.0);
    Ok(())
}

/// A write's start here to its line from `kvhost watch --json` in another
/// process, which reads the store through its own connection.
fn cross_process_latency(report: &mut Report, file: &str, name: &str, bucket: &Bucket, n: u64) -> anyhow::Result<()> {
    let mut child = Command::new(kvhost_bin())
        .args(["watch", "--config", file, bucket.id(), "--prefix", "lat", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let mut said = String::new();
    stderr.read_line(&mut said)?;
    anyhow::ensure!(said.starts_with("watching"), "kvhost watch did not start: {said}");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let at = stamp();
            let sent = line
                .split("\"value\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|v| v.parse::<u64>().ok());
            if let Some(sent) = sent
                && tx.send(at.saturating_sub(sent)).is_err()
            {
                break;
            }
        }
    });
    let latencies = paced_writes(bucket, n, Duration::from_millis(1), &rx);
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    percentiles(report, &format!("13.{name}.write_to_other_process"), latencies?, 10_000_000.0);
    Ok(())
}
