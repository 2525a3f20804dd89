//! Every guest interface through both of kvhost's linkers on every backend:
//! the `kvhost:store` guest's self-check, and guests written for Spin
//! (`wasi:keyvalue@0.2.0-draft2`) and for `wasmtime run -S keyvalue`
//! (`@0.2.0-draft`), unchanged.

use std::process::Command;

use kvhost_tests::backend::{Backend, Kind};
use kvhost_tests::needs::{Need, require_tool};
use kvhost_tests::{Linking, build_rust_guest, kvhost, run_guest_linked, rust_guest, stdout_ok, text};

fn draft2() -> std::path::PathBuf {
    build_rust_guest("rust-wasi-draft2", "kv-draft2")
}

fn draft() -> std::path::PathBuf {
    build_rust_guest("rust-wasi-draft", "kv-draft")
}

fn every_guest_passes_its_checks(kind: Kind, linking: Linking) {
    let b = Backend::new(kind);
    let out = stdout_ok(&run_guest_linked(linking, &rust_guest(), b.kv(), &["demo"]).unwrap());
    assert!(out.contains("kvdemo: all 24 checks passed"), "{out}");
    let out = stdout_ok(&run_guest_linked(linking, &draft2(), b.kv(), &["check"]).unwrap());
    assert!(out.contains("kv-draft2: all checks passed"), "{out}");
    let out = stdout_ok(&run_guest_linked(linking, &draft(), b.kv(), &["check-kvhost"]).unwrap());
    assert!(out.contains("kv-draft: all kvhost checks passed"), "{out}");
}

/// Several guest instances at once, each incrementing and CAS-incrementing
/// the same keys: the totals must be exact.
fn instances_hammering_one_store_get_exact_totals(kind: Kind, linking: Linking) {
    const INSTANCES: usize = 4;
    const EACH: usize = 25;
    let b = Backend::new(kind);
    let wasm = draft2();
    std::thread::scope(|s| {
        for _ in 0..INSTANCES {
            let (wasm, kv) = (&wasm, b.kv());
            s.spawn(move || stdout_ok(&run_guest_linked(linking, wasm, kv, &["hammer", &EACH.to_string()]).unwrap()));
        }
    });
    let total = (INSTANCES * EACH).to_string().into_bytes();
    assert_eq!(b.store.get("counter").unwrap(), Some(total.clone()), "increments");
    assert_eq!(b.store.get("cas").unwrap(), Some(total), "compare-and-swap increments");
}

/// A component written for another platform's bucket name (`kv-draft
/// count` opens `in_memory`, as wasmCloud's template does) runs unchanged
/// once its grant gives the store that name, and not before.
fn a_component_opening_its_own_bucket_name_runs_with_an_alias(kind: Kind, linking: Linking) {
    let b = Backend::new(kind);
    let id = b.store.info().id.clone();
    let out = run_guest_linked(linking, &draft(), b.kv(), &["count", "visits"]).unwrap();
    assert_eq!(out.exit_code, 1, "without an alias the name is not granted");
    assert!(String::from_utf8_lossy(&out.stderr).contains("open(\"in_memory\"): Error::AccessDenied"), "{out:?}");
    let catalog = kvhost::Catalog::new();
    catalog.insert(b.store.0.clone(), kvhost::Limits::default());
    let kv = kvhost::KvCtx::builder(catalog).grant(kvhost::Grant::new(id).alias("in_memory")).try_build().unwrap();
    for n in 1..=2 {
        let out = stdout_ok(&run_guest_linked(linking, &draft(), kv.clone(), &["count", "visits"]).unwrap());
        assert_eq!(out.trim(), format!("visits = {n}"));
    }
    assert_eq!(b.store.get("visits").unwrap().as_deref(), Some(&b"2"[..]), "it was the granted store");
}

macro_rules! on_every_backend {
    ($($backend:ident => $kind:expr),* $(,)?) => {$(
        mod $backend {
            use super::Kind;
            use kvhost_tests::Linking;

            #[test]
            fn every_guest_passes_through_the_async_linker() {
                super::every_guest_passes_its_checks($kind, Linking::Async);
            }
            #[test]
            fn every_guest_passes_through_the_sync_linker() {
                super::every_guest_passes_its_checks($kind, Linking::Sync);
            }
            #[test]
            fn a_component_opening_its_own_bucket_name_runs_with_an_alias_async() {
                super::a_component_opening_its_own_bucket_name_runs_with_an_alias($kind, Linking::Async);
            }
            #[test]
            fn a_component_opening_its_own_bucket_name_runs_with_an_alias_sync() {
                super::a_component_opening_its_own_bucket_name_runs_with_an_alias($kind, Linking::Sync);
            }
            #[test]
            fn instances_hammering_one_store_get_exact_totals_async() {
                super::instances_hammering_one_store_get_exact_totals($kind, Linking::Async);
            }
            #[test]
            fn instances_hammering_one_store_get_exact_totals_sync() {
                super::instances_hammering_one_store_get_exact_totals($kind, Linking::Sync);
            }
        }
    )*};
}

on_every_backend! {
    memory => Kind::Memory,
    sqlite_file => Kind::SqliteFile,
    sqlite_memory => Kind::SqliteMemory,
    postgres => Kind::Postgres,
    mysql => Kind::Mysql,
    postgres_versioned => Kind::PostgresVersioned,
    redis => Kind::Redis,
}

#[test]
fn draft_guest_runs_unchanged_under_wasmtime_and_kvhost() {
    let wasm = draft();
    let w = wasm.to_str().unwrap();
    let out = kvhost(&["run", "--kv", "greeting=hello", w, "show", "greeting"]);
    assert_eq!(text(&out).0.trim(), "greeting = hello", "{:?}", text(&out));
    let out = kvhost(&["run", w, "check"]);
    assert!(text(&out).0.contains("all portable checks passed"), "{:?}", text(&out));

    require_tool(Need::Wasmtime, "wasmtime");
    let out = Command::new("wasmtime")
        .args(["run", "-S", "keyvalue", "-S", "keyvalue-in-memory-data=greeting=hello", w, "show", "greeting"])
        .output()
        .unwrap();
    assert_eq!(text(&out).0.trim(), "greeting = hello", "{:?}", text(&out));
    let out = Command::new("wasmtime").args(["run", "-S", "keyvalue", w, "check"]).output().unwrap();
    assert!(text(&out).0.contains("all portable checks passed"), "{:?}", text(&out));
}
