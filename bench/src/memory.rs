//! Measures 1-4: the memory store natively, the bare boundary, and guests
//! through kvhost:store, through wasi:keyvalue on kvhost, and on the peer.

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
    let rounds = 5;
    for op in ["get", "set"] {
        let native = match op {
            "get" => ns_per_op(rounds, n, || drop(black_box(store.get(black_box(key))))),
            _ => ns_per_op(rounds, n, || drop(black_box(store.set(black_box(key), &value, None)))),
        };
        report.add(&format!("1.native.{op}"), native, None);
        report.add(&format!("1b.boundary.{op}"), crate::boundary::ns_per_op(op, n, rounds)?, None);
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

    let runner = Runner::new()?;
    let stores = Stores::new();
    stores.insert(store);
    let kv = KvCtx::builder(stores).default_store("bench:mem").build();
    let draft = crate::peer::draft_guest();
    for op in ["get", "set"] {
        let ns = crate::guest::ns_per_op(&runner, &kv, op, n, rounds)?;
        report.add(&format!("2.kvhost_store.{op}"), ns, Some(&format!("1+1b.floor.{op}")));
    }
    for op in ["get", "set"] {
        report.add(&format!("4.peer_wasi_draft.{op}"), crate::peer::ns_per_op(op, n, rounds)?, None);
        let ns = crate::guest::ns_per_op_of(&draft, "kv-draft", &runner, &kv, op, n, rounds)?;
        report.add(&format!("3.kvhost_wasi_draft.{op}"), ns, Some(&format!("4.peer_wasi_draft.{op}")));
    }
    Ok(())
}
