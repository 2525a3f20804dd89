//! The compiled-component cache: a second load comes from disk, and an entry
//! that is tampered with, truncated, stale or keyed differently is never loaded.

use std::sync::Arc;

use kvhost::guest::{ComponentCache, GuestLimits, GuestRun, GuestRunner as Runner, Source, Stdio};
use kvhost::memory::MemoryStore;
use kvhost::{Catalog, KvCtx, Limits};
use kvhost_tests::{kvhost_bin, rt, rust_guest, text};

fn guest_bytes() -> Vec<u8> {
    std::fs::read(rust_guest()).unwrap()
}

#[test]
fn second_load_comes_from_the_cache_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ComponentCache::open(dir.path()).unwrap();
    let runner = Runner::new().unwrap();
    let bytes = guest_bytes();
    assert_eq!(cache.load(runner.engine(), &bytes).unwrap().1, Source::Compiled);
    let (component, source) = cache.load(runner.engine(), &bytes).unwrap();
    assert_eq!(source, Source::Cache);

    let stores = Catalog::new();
    stores.insert(Arc::new(MemoryStore::builder("app:kv").build()), Limits::default());
    let run = GuestRun {
        name: "kvdemo".into(),
        args: vec!["demo".into()],
        env: Vec::new(),
        kv: KvCtx::builder(stores).default_store("app:kv").build(),
        limits: GuestLimits::default(),
        stdio: Stdio::Capture,
    };
    let out = rt().block_on(runner.run(&component, run)).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("all 24 checks passed"));
}

#[test]
fn tampered_entry_is_never_loaded_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ComponentCache::open(dir.path()).unwrap();
    let runner = Runner::new().unwrap();
    let bytes = guest_bytes();
    cache.load(runner.engine(), &bytes).unwrap();
    let entry = cache.entry_path(runner.engine(), &bytes);
    let mut data = std::fs::read(&entry).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x01;
    std::fs::write(&entry, &data).unwrap();
    assert_eq!(cache.load(runner.engine(), &bytes).unwrap().1, Source::Compiled, "a flipped bit is a miss");
    assert_eq!(cache.load(runner.engine(), &bytes).unwrap().1, Source::Cache, "and the entry was rewritten");

    std::fs::write(&entry, &data[..10]).unwrap();
    assert_eq!(cache.load(runner.engine(), &bytes).unwrap().1, Source::Compiled, "a truncated entry is a miss");
}

#[test]
fn entry_written_under_another_key_is_never_loaded() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (cache_a, cache_b) = (ComponentCache::open(a.path()).unwrap(), ComponentCache::open(b.path()).unwrap());
    let runner = Runner::new().unwrap();
    let bytes = guest_bytes();
    cache_a.load(runner.engine(), &bytes).unwrap();
    // An entry valid for one cache, planted in another: its MAC does not verify.
    let name = cache_a.entry_path(runner.engine(), &bytes);
    std::fs::copy(&name, cache_b.entry_path(runner.engine(), &bytes)).unwrap();
    assert_eq!(cache_b.load(runner.engine(), &bytes).unwrap().1, Source::Compiled);
}

#[test]
fn another_engine_configuration_or_component_looks_up_another_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = ComponentCache::open(dir.path()).unwrap();
    let bytes = guest_bytes();
    let plain = Runner::new().unwrap();
    let mut config = Runner::config();
    config.epoch_interruption(false);
    let no_epochs = kvhost::wasmtime::Engine::new(&config).unwrap();
    let names = [
        cache.entry_path(plain.engine(), &bytes),
        cache.entry_path(&no_epochs, &bytes),
        cache.entry_path(plain.engine(), &bytes[..bytes.len() - 1]),
    ];
    assert_ne!(names[0], names[1], "compilation settings are part of the name");
    assert_ne!(names[0], names[2], "content is part of the name");
    cache.load(plain.engine(), &bytes).unwrap();
    assert_eq!(cache.load(&no_epochs, &bytes).unwrap().1, Source::Compiled, "a stale entry is not found");
}

#[test]
fn kvhost_run_uses_the_cache_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let guest = rust_guest();
    let run = |extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend(extra);
        args.extend([guest.to_str().unwrap(), "demo"]);
        let out =
            std::process::Command::new(kvhost_bin()).env("KVHOST_CACHE_DIR", dir.path()).args(&args).output().unwrap();
        assert!(out.status.success(), "{:?}", text(&out));
    };
    run(&["--no-cache"]);
    let entries = || {
        std::fs::read_dir(dir.path())
            .map_or(0, |d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "cwasm")).count())
    };
    assert_eq!(entries(), 0, "--no-cache writes nothing");
    run(&[]);
    assert_eq!(entries(), 1);
    run(&[]);
    assert_eq!(entries(), 1, "the second run reuses the entry");
}

/// The size of `bytes`' entry once compiled, measured in a scratch cache.
fn entry_size(runner: &Runner, bytes: &[u8]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let cache = ComponentCache::open(dir.path()).unwrap();
    cache.load(runner.engine(), bytes).unwrap();
    std::fs::metadata(cache.entry_path(runner.engine(), bytes)).unwrap().len()
}

#[test]
fn least_recently_used_entries_are_evicted_past_max_bytes() {
    let runner = Runner::new().unwrap();
    let a = guest_bytes();
    let b = std::fs::read(kvhost_tests::build_rust_guest("memory-store", "kvhost_memory_store")).unwrap();
    let c = std::fs::read(kvhost_tests::build_rust_guest("rust-wasi-draft", "kv-draft")).unwrap();
    let (sa, sb, sc) = (entry_size(&runner, &a), entry_size(&runner, &b), entry_size(&runner, &c));
    let dir = tempfile::tempdir().unwrap();
    // Room for all three but one byte.
    let cache = ComponentCache::open(dir.path()).unwrap().max_bytes(sa + sb + sc - 1);
    let exists = |bytes: &[u8]| cache.entry_path(runner.engine(), bytes).is_file();
    cache.load(runner.engine(), &a).unwrap();
    cache.load(runner.engine(), &b).unwrap();
    assert_eq!(cache.load(runner.engine(), &a).unwrap().1, Source::Cache, "a hit makes A the most recent");
    cache.load(runner.engine(), &c).unwrap();
    assert!(exists(&a) && exists(&c), "A was used after B, and C is new");
    assert!(!exists(&b), "B, the least recently used, made room");
}

#[test]
fn kvhost_run_compiles_without_a_cache_it_cannot_create() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"").unwrap();
    let out = std::process::Command::new(kvhost_bin())
        .env("KVHOST_CACHE_DIR", &not_a_dir)
        .args(["run", rust_guest().to_str().unwrap(), "demo"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("all 24 checks passed"), "{stdout}");
    assert!(stderr.contains("compiling without a cache: cannot create the component cache"), "{stderr}");
}
