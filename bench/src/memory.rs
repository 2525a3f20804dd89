//! The memory store: called natively through the Store trait, and from a guest.

use std::hint::black_box;
use std::sync::Arc;

use kvhost::{KvCtx, MemoryStore, Runner, Store, Stores};

use crate::measure::{Report, ns_per_op};

pub fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    println!("memory");
    let store = Arc::new(MemoryStore::builder("bench:mem").max_size(0).build());
    let (key, value) = ("bench-key-0000ab", [7u8; 100]);
    store.set(key, &value, None)?;
    let n = 200_000 * scale;
    report.add("memory.native.get", ns_per_op(5, n, || drop(black_box(store.get(black_box(key))))), None);
    report.add("memory.native.set", ns_per_op(5, n, || drop(black_box(store.set(black_box(key), &value, None)))), None);

    let runner = Runner::new()?;
    let stores = Stores::new();
    stores.insert(store);
    let kv = KvCtx::builder(stores).default_store("bench:mem").build();
    report.add("memory.guest.get", crate::guest::ns_per_op(&runner, &kv, "get", n, 5)?, Some("memory.native.get"));
    report.add("memory.guest.set", crate::guest::ns_per_op(&runner, &kv, "set", n, 5)?, Some("memory.native.set"));
    Ok(())
}
