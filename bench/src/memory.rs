//! Measures 1-4: the memory store natively and through a bucket, the bare
//! boundary, and guests through `kvhost:store` and `wasi:keyvalue` on kvhost
//! (both linkers) and on the peer.

use std::hint::black_box;
use std::sync::Arc;

use kvhost::memory::MemoryStore;
use kvhost::{Catalog, KvCtx, Limits, Store, Wait};
use kvhost_tests::Linking;

use crate::measure::{Report, Sampler, interleaved, timed};

pub fn run(report: &mut Report, scale: u64, only: Option<&str>) -> anyhow::Result<()> {
    println!("memory");
    let memory = Arc::new(MemoryStore::builder("bench:mem").max_size(0).build());
    let store: Arc<dyn Store> = memory.clone();
    let (key, value) = ("bench-key-0000ab", [7u8; 100]);
    store.set(key, value.to_vec(), None).wait()?;
    let catalog = Catalog::new();
    catalog.insert(memory.clone(), Limits::default());
    let kv = KvCtx::builder(catalog).default_store("bench:mem").build();
    let n = 200_000 * scale;
    let rounds = 5;
    // Every measure below, with the earlier one it is compared to; all of
    // them are sampled in interleaved rounds.
    let mut picked = Picked { only, names: Vec::new(), samplers: Vec::new() };
    for op in ["get", "set"] {
        let native = format!("1.native.{op}");
        // The store itself: an `Op` that is ready, polled once.
        let m = store.clone();
        let sampler: Sampler<'static> = match op {
            "get" => Box::new(move || Ok(timed(n, || drop(black_box(m.get(black_box(key)).wait()))))),
            _ => Box::new(move || Ok(timed(n, || drop(black_box(m.set(black_box(key), value.to_vec(), None).wait()))))),
        };
        picked.add(native.clone(), None, || Ok(sampler))?;
        // The shape `Op` was chosen over: a boxed future on every call, as
        // `#[async_trait]` gives.
        let m = store.clone();
        let sampler: Sampler<'static> = match op {
            "get" => Box::new(move || {
                Ok(timed(n, || drop(black_box(Box::pin(async { m.get(black_box(key)).await }).wait()))))
            }),
            _ => Box::new(move || {
                Ok(timed(n, || {
                    drop(black_box(Box::pin(async { m.set(black_box(key), value.to_vec(), None).await }).wait()))
                }))
            }),
        };
        picked.add(format!("1o.boxed_future.{op}"), Some(native.clone()), || Ok(sampler))?;
        // Every rule on the way: limits, grant, concurrency permit, tracing check.
        let b = kv.open("")?;
        let sampler: Sampler<'static> = match op {
            "get" => Box::new(move || Ok(timed(n, || drop(black_box(b.get(black_box(key)).wait()))))),
            _ => Box::new(move || Ok(timed(n, || drop(black_box(b.set(black_box(key), value, None).wait()))))),
        };
        picked.add(format!("1c.bucket.{op}"), Some(native), || Ok(sampler))?;
        let boundary = format!("1b.boundary.{op}");
        picked.add(boundary.clone(), None, || crate::boundary::sampler(Linking::Sync, op, n))?;
        picked.add(format!("1b.boundary_async.{op}"), Some(boundary.clone()), || {
            crate::boundary::sampler(Linking::Async, op, n)
        })?;
        picked
            .add(format!("1b.boundary_borrowed.{op}"), Some(boundary), || crate::boundary::borrowed_sampler(op, n))?;
    }

    // What the peer keeps per instance: an unshared HashMap behind `&mut`,
    // with no lock, no version, no expiry. The gap to 1.native is the cost of
    // one store shared by every instance.
    let mut unshared: std::collections::HashMap<String, Vec<u8>> = std::collections::HashMap::new();
    unshared.insert(key.to_owned(), value.to_vec());
    let mut unshared_set = unshared.clone();
    picked.add("1p.unshared_hashmap.get".into(), None, || {
        Ok(Box::new(move || Ok(timed(n, || drop(black_box(unshared.get(black_box(key)).cloned()))))))
    })?;
    picked.add("1p.unshared_hashmap.set".into(), None, || {
        Ok(Box::new(move || {
            Ok(timed(n, || drop(black_box(unshared_set.insert(black_box(key).to_owned(), value.to_vec())))))
        }))
    })?;

    let kvdemo = kvhost_tests::rust_guest();
    let draft = crate::peer::draft_guest();
    for op in ["get", "set"] {
        let floor = format!("1+1b.floor.{op}");
        picked.add(format!("2.kvhost_store.{op}"), Some(floor.clone()), || {
            crate::guest::sampler(Linking::Sync, &kvdemo, "kvdemo", &kv, op, n)
        })?;
        picked.add(format!("2a.kvhost_store_async.{op}"), Some(floor), || {
            crate::guest::sampler(Linking::Async, &kvdemo, "kvdemo", &kv, op, n)
        })?;
    }
    for op in ["get", "set"] {
        let peer = format!("4.peer_wasi_draft.{op}");
        picked.add(peer.clone(), None, || crate::peer::sampler(op, n))?;
        picked.add(format!("3.kvhost_wasi_draft.{op}"), Some(peer.clone()), || {
            crate::guest::sampler(Linking::Sync, &draft, "kv-draft", &kv, op, n)
        })?;
        picked.add(format!("3a.kvhost_wasi_draft_async.{op}"), Some(peer), || {
            crate::guest::sampler(Linking::Async, &draft, "kv-draft", &kv, op, n)
        })?;
    }

    let results = interleaved(rounds, &mut picked.samplers)?;
    for ((name, baseline), result) in picked.names.iter().zip(results) {
        // (A baseline left out by --only is not compared to.)
        report.add_spread(name, result, baseline.as_deref().filter(|b| report.get(b).is_some()));
        // The floor a guest's call is held to: the store plus the boundary.
        if let Some(op) = name.strip_prefix("1b.boundary_async.") {
            let native = report.get(&format!("1.native.{op}"));
            if let (Some(native), Some(boundary)) = (native, report.get(&format!("1b.boundary.{op}"))) {
                report.add(&format!("1+1b.floor.{op}"), native + boundary, None);
            }
        }
    }
    if only.is_some() {
        return Ok(());
    }
    // Instantiation is inside the wall time: N large enough that it is noise.
    let one = mixed_throughput(&kv, 1, 16 * n, rounds)?;
    report.add_value("9.mixed_get_set.1_guest", one, "op/s", None);
    let many = mixed_throughput(&kv, 16, n, rounds)?;
    report.add_value("9.mixed_get_set.16_guests", many, "op/s", None);
    report.add_value("9.mixed_get_set.16_guests_vs_1", many / one, "x", None);
    Ok(())
}

/// The measures `--only` picked, each with the earlier one it is compared to.
struct Picked<'o> {
    only: Option<&'o str>,
    names: Vec<(String, Option<String>)>,
    samplers: Vec<Sampler<'static>>,
}

impl Picked<'_> {
    /// Add measure `name` if `--only` picks it. `make` prepares its sampler,
    /// which for a guest means compiling it: only for a measure that runs,
    /// so that a profile of one measure is not mostly compilation.
    fn add(
        &mut self,
        name: String,
        baseline: Option<String>,
        make: impl FnOnce() -> anyhow::Result<Sampler<'static>>,
    ) -> anyhow::Result<()> {
        if self.only.is_none_or(|o| name.contains(o)) {
            self.samplers.push(make()?);
            self.names.push((name, baseline));
        }
        Ok(())
    }
}

/// Measure 9: throughput of `guests` guests doing `bench mix` (three gets
/// to one set over 1,024 keys) on one memory store at once, as async tasks
/// on the tests' runtime (2 workers here), in operations per second of wall
/// time, median of `rounds`.
pub fn mixed_throughput(kv: &KvCtx, guests: usize, n: u64, rounds: usize) -> anyhow::Result<f64> {
    let runner = kvhost_tests::runner();
    let prepared = runner.prepare(&runner.load(&kvhost_tests::rust_guest())?)?;
    let args = ["bench".to_owned(), "mix".to_owned(), n.to_string()];
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = std::time::Instant::now();
        let runs = (0..guests).map(|_| crate::guest::spawn(&prepared, crate::guest::bench_run(kv, &args))).collect();
        crate::guest::join(runs)?;
        samples.push((guests as u64 * n) as f64 / start.elapsed().as_secs_f64());
    }
    Ok(crate::measure::median(&mut samples))
}
