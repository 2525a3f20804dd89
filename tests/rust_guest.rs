//! The Rust guest, built by cargo for wasm32-wasip2, run through the library.

use std::sync::Arc;
use std::time::Duration;

use kvhost::clock::ManualClock;
use kvhost::guest::GuestLimits;
use kvhost::memory::MemoryStore;
use kvhost::{Catalog, KvCtx, Limits};
use kvhost_tests::{run_rust_guest, stdout_ok};

fn memory_stores(id: &str, max_size: u64, clock: &ManualClock) -> Catalog {
    let catalog = Catalog::new();
    let store = MemoryStore::builder(id).max_size(max_size).clock(Arc::new(clock.clone())).build();
    catalog.insert(Arc::new(store), Limits::default());
    catalog
}

#[test]
fn demo_passes_every_check_on_memory() {
    let stores = memory_stores("app:mem", 100, &ManualClock::starting_now());
    let kv = KvCtx::builder(stores).default_store("app:mem").build();
    let out = stdout_ok(&run_rust_guest(kv, &["demo"], GuestLimits::default()).unwrap());
    assert!(out.contains("store app:mem on memory backend"), "{out}");
    assert!(out.contains("kvdemo: all 24 checks passed"), "{out}");
}

#[test]
fn entries_expire_between_runs_when_the_clock_moves() {
    let clock = ManualClock::starting_now();
    let stores = memory_stores("app:mem", 100, &clock);
    let kv = KvCtx::builder(stores).default_store("app:mem").build();
    let run = |args: &[&str]| stdout_ok(&run_rust_guest(kv.clone(), args, GuestLimits::default()).unwrap());
    run(&["set", "token", "abc", "1000"]);
    run(&["set", "keep", "forever"]);
    clock.advance(Duration::from_millis(999));
    assert!(run(&["expect", "token", "abc"]).contains("ok"));
    clock.advance(Duration::from_millis(1));
    assert!(run(&["expect-missing", "token"]).contains("is absent"));
    assert!(run(&["expect", "keep", "forever"]).contains("ok"));
}

#[test]
fn data_is_shared_between_guests_of_one_store() {
    let stores = memory_stores("app:mem", 100, &ManualClock::starting_now());
    let writer = KvCtx::builder(stores.clone()).default_store("app:mem").build();
    let reader = KvCtx::builder(stores).allow("app:mem").build();
    stdout_ok(&run_rust_guest(writer, &["set", "shared", "yes"], GuestLimits::default()).unwrap());
    let out = run_rust_guest(reader, &["--store", "app:mem", "expect", "shared", "yes"], GuestLimits::default());
    stdout_ok(&out.unwrap());
}

#[test]
fn errors_when_store_is_not_granted_even_if_it_exists() {
    let stores = memory_stores("app:secret", 100, &ManualClock::starting_now());
    stores.insert(Arc::new(MemoryStore::builder("app:mine").build()), Limits::default());
    let kv = KvCtx::builder(stores).default_store("app:mine").build();
    let out = run_rust_guest(kv, &["--store", "app:secret", "info"], GuestLimits::default()).unwrap();
    assert_eq!(out.exit_code, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("open(\"app:secret\"): access-denied"));
}

#[test]
fn an_unknown_alias_is_refused_exactly_as_an_ungranted_store() {
    let stores = memory_stores("app:secret", 100, &ManualClock::starting_now());
    stores.insert(Arc::new(MemoryStore::builder("app:mine").build()), Limits::default());
    let kv = KvCtx::builder(stores).grant(kvhost::Grant::new("app:mine").alias("mine")).build();
    let stderr = |name: &str| {
        let out = run_rust_guest(kv.clone(), &["--store", name, "info"], GuestLimits::default()).unwrap();
        assert_eq!(out.exit_code, 1);
        String::from_utf8_lossy(&out.stderr).replace(name, "NAME")
    };
    assert_eq!(stderr("sessions"), stderr("app:secret"));
    assert!(stderr("sessions").contains("open(\"NAME\"): access-denied"), "{}", stderr("sessions"));
    stdout_ok(&run_rust_guest(kv, &["--store", "mine", "info"], GuestLimits::default()).unwrap());
}

#[test]
fn errors_with_no_such_store_when_granted_store_is_not_running() {
    let kv = KvCtx::builder(Catalog::new()).allow("app:later").build();
    let out = run_rust_guest(kv, &["--store", "app:later", "info"], GuestLimits::default()).unwrap();
    assert_eq!(out.exit_code, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-store"));
}

#[test]
fn guest_without_default_store_gets_access_denied_not_a_trap() {
    let kv = KvCtx::builder(Catalog::new()).build();
    let out = run_rust_guest(kv, &["info"], GuestLimits::default()).unwrap();
    assert_eq!(out.exit_code, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("open(\"\"): access-denied"));
}

#[test]
fn store_full_is_reported_to_the_guest() {
    let stores = memory_stores("app:small", 5, &ManualClock::starting_now());
    let kv = KvCtx::builder(stores).default_store("app:small").build();
    let out = stdout_ok(&run_rust_guest(kv, &["fill", "k", "10"], GuestLimits::default()).unwrap());
    assert_eq!(out.trim(), "stored 5, then store-full");
}

#[test]
fn guest_running_past_its_timeout_is_stopped_with_a_clear_error() {
    let stores = memory_stores("app:mem", 100, &ManualClock::starting_now());
    let kv = KvCtx::builder(stores.clone()).default_store("app:mem").build();
    let limits = GuestLimits { timeout: Some(Duration::from_millis(200)), ..Default::default() };
    let err = run_rust_guest(kv, &["wait-for", "never"], limits).unwrap_err();
    assert!(format!("{err:#}").contains("time limit of 200ms (limits.timeout)"), "{err:#}");
    // The store is unharmed and serves the next guest.
    let kv = KvCtx::builder(stores).default_store("app:mem").build();
    stdout_ok(&run_rust_guest(kv, &["demo"], GuestLimits::default()).unwrap());
}

#[test]
fn guest_over_its_memory_limit_cannot_grow() {
    let stores = memory_stores("app:mem", 100, &ManualClock::starting_now());
    let kv = KvCtx::builder(stores).default_store("app:mem").build();
    // 64 KiB is one wasm page: too little for the guest's own heap to start.
    let limits = GuestLimits { max_memory: Some(64 << 10), ..Default::default() };
    let result = run_rust_guest(kv, &["demo"], limits);
    let failed = match &result {
        Err(_) => true,
        Ok(out) => out.exit_code != 0,
    };
    assert!(failed, "a guest limited to one page should not run the demo: {result:?}");
}

#[test]
fn a_computing_guest_yields_so_others_run_on_one_thread_and_ctrl_c_still_stops_it() {
    use kvhost::guest::{GuestRun, GuestRunner, Stdio};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // A runner of its own: interrupting it stops only this test's guests.
    let runner = Arc::new(GuestRunner::new().unwrap());
    let component = runner.load(&kvhost_tests::rust_guest()).unwrap();
    let stores = memory_stores("app:mem", 0, &ManualClock::starting_now());
    let run = |args: &[&str], timeout: Option<Duration>| GuestRun {
        name: "kvdemo".into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        kv: KvCtx::builder(stores.clone()).default_store("app:mem").build(),
        limits: GuestLimits { timeout, ..Default::default() },
        stdio: Stdio::Capture,
    };
    rt.block_on(async {
        // A guest that loops forever without calling the host, after one write.
        let spinner = {
            let (runner, component) = (runner.clone(), component.clone());
            // Its timeout only bounds this test if yielding ever breaks.
            let run = run(&["spin"], Some(Duration::from_secs(60)));
            tokio::spawn(async move { runner.run(&component, run).await })
        };
        // This task gets the thread back only if the spinner yields.
        let bucket = stores.open("app:mem").unwrap();
        while !bucket.exists("spin:before").await.unwrap() {
            tokio::task::yield_now().await;
        }
        let out = runner.run(&component, run(&["demo"], None)).await.unwrap();
        assert!(stdout_ok(&out).contains("all 24 checks passed"));
        assert!(!spinner.is_finished(), "the other guest ran while this one was still computing");
        runner.interrupt();
        let err = spinner.await.unwrap().unwrap_err();
        assert!(format!("{err:#}").contains("guest interrupted"), "{err:#}");
    });
}
