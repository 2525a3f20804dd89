//! Measures 1-4: the memory store natively and through a bucket, the bare
//! boundary, and guests through `kvhost:store` and `wasi:keyvalue` on kvhost
//! (both linkers) and on the peer.

use std::hint::black_box;
use std::sync::Arc;

use kvhost::{Catalog, KvCtx, Limits, MemoryStore, Store, Wait};
use kvhost_tests::Linking;

use crate::measure::{Report, ns_per_op};

pub fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    println!("memory");
    let memory = Arc::new(MemoryStore::builder("bench:mem").max_size(0).build());
    let store: &dyn Store = &*memory;
    let (key, value) = ("bench-key-0000ab", [7u8; 100]);
    store.set(key, value.to_vec(), None).wait()?;
    let catalog = Catalog::new();
    catalog.insert(memory.clone(), Limits::default());
    let kv = KvCtx::builder(catalog).default_store("bench:mem").build();
    let bucket = kv.open("")?;
    let n = 200_000 * scale;
    let rounds = 5;
    for op in ["get", "set"] {
        // The store itself: an `Op` that is ready, polled once.
        let native = match op {
            "get" => ns_per_op(rounds, n, || drop(black_box(store.get(black_box(key)).wait()))),
            _ => ns_per_op(rounds, n, || drop(black_box(store.set(black_box(key), value.to_vec(), None).wait()))),
        };
        report.add(&format!("1.native.{op}"), native, None);
        // The shape `Op` was chosen over: a boxed future on every call, as
        // `#[async_trait]` gives.
        let boxed = match op {
            "get" => {
                ns_per_op(rounds, n, || drop(black_box(Box::pin(async { store.get(black_box(key)).await }).wait())))
            }
            _ => ns_per_op(rounds, n, || {
                drop(black_box(Box::pin(async { store.set(black_box(key), value.to_vec(), None).await }).wait()))
            }),
        };
        report.add(&format!("1o.boxed_future.{op}"), boxed, Some(&format!("1.native.{op}")));
        // Every rule on the way: limits, grant, concurrency slot, tracing check.
        let ruled = match op {
            "get" => ns_per_op(rounds, n, || drop(black_box(bucket.get(black_box(key)).wait()))),
            _ => ns_per_op(rounds, n, || drop(black_box(bucket.set(black_box(key), value, None).wait()))),
        };
        report.add(&format!("1c.bucket.{op}"), ruled, Some(&format!("1.native.{op}")));
        report.add(&format!("1b.boundary.{op}"), crate::boundary::ns_per_op(Linking::Sync, op, n, rounds)?, None);
        let async_boundary = crate::boundary::ns_per_op(Linking::Async, op, n, rounds)?;
        report.add(&format!("1b.boundary_async.{op}"), async_boundary, Some(&format!("1b.boundary.{op}")));
        let floor = native + report.get(&format!("1b.boundary.{op}")).unwrap_or_default();
        report.add(&format!("1+1b.floor.{op}"), floor, None);
    }

    // What the peer keeps per instance: an unshared HashMap behind `&mut`,
    // with no lock, no version, no expiry. The gap to 1.native is the cost of
    // one store shared by every instance.
    let mut unshared: std::collections::HashMap<String, Vec<u8>> = std::collections::HashMap::new();
    unshared.insert(key.to_owned(), value.to_vec());
    report.add(
        "1p.unshared_hashmap.get",
        ns_per_op(rounds, n, || drop(black_box(unshared.get(black_box(key)).cloned()))),
        None,
    );
    report.add(
        "1p.unshared_hashmap.set",
        ns_per_op(rounds, n, || drop(black_box(unshared.insert(black_box(key).to_owned(), value.to_vec())))),
        None,
    );

    let kvdemo = kvhost_tests::rust_guest();
    let draft = crate::peer::draft_guest();
    for op in ["get", "set"] {
        let floor = format!("1+1b.floor.{op}");
        let ns = crate::guest::ns_per_op(Linking::Sync, &kvdemo, "kvdemo", &kv, op, n, rounds)?;
        report.add(&format!("2.kvhost_store.{op}"), ns, Some(&floor));
        let ns = crate::guest::ns_per_op(Linking::Async, &kvdemo, "kvdemo", &kv, op, n, rounds)?;
        report.add(&format!("2a.kvhost_store_async.{op}"), ns, Some(&floor));
    }
    for op in ["get", "set"] {
        let peer = format!("4.peer_wasi_draft.{op}");
        report.add(&peer, crate::peer::ns_per_op(op, n, rounds)?, None);
        let ns = crate::guest::ns_per_op(Linking::Sync, &draft, "kv-draft", &kv, op, n, rounds)?;
        report.add(&format!("3.kvhost_wasi_draft.{op}"), ns, Some(&peer));
        let ns = crate::guest::ns_per_op(Linking::Async, &draft, "kv-draft", &kv, op, n, rounds)?;
        report.add(&format!("3a.kvhost_wasi_draft_async.{op}"), ns, Some(&peer));
    }
    // Instantiation is inside the wall time: N large enough that it is noise.
    let one = mixed_throughput(&kv, 1, 16 * n, rounds)?;
    report.add_value("9.mixed_get_set.1_guest", one, "op/s", None);
    let many = mixed_throughput(&kv, 16, n, rounds)?;
    report.add_value("9.mixed_get_set.16_guests", many, "op/s", None);
    report.add_value("9.mixed_get_set.16_guests_vs_1", many / one, "x", None);
    Ok(())
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
