//! kv-draft: a guest for `wasi:keyvalue@0.2.0-draft`, the version that
//! `wasmtime run -S keyvalue` implements. It knows nothing of kvhost.
//!
//! - `kv-draft [check]` asserts every function of store, atomics and batch on
//!   the store `open("")` gives, using only what both wasmtime and kvhost do.
//! - `kv-draft check-kvhost` also asserts kvhost's paging, cursors and grants.
//! - `kv-draft show KEY` prints a value (for data preset by the host).
//! - `kv-draft hammer N` increments `counter` N times.
//! - `kv-draft bench get|set N` times N calls in the guest (for kvhost-bench).
//! - `kv-draft count KEY` opens the bucket `in_memory`, as wasmCloud's
//!   `http-kv-handler` template does, increments KEY and prints the count:
//!   a component written for another platform's bucket name.

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasi:keyvalue/imports@0.2.0-draft",
});

use std::process::exit;
use wasi::keyvalue0_2_0_draft::{atomics, batch, store};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("kv-draft: FAILED: {msg}");
    exit(1)
}

const USAGE: &str = "usage: kv-draft [check] | check-kvhost | show KEY | hammer N | bench get|set N | count KEY";

/// A command line kv-draft does not understand: the reason and the usage, then a
/// non-zero exit (wasip2 reports any non-zero code as 1).
fn usage(msg: impl std::fmt::Display) -> ! {
    eprintln!("kv-draft: {msg}\n{USAGE}");
    exit(2)
}

fn ok<T>(what: &str, r: Result<T, store::Error>) -> T {
    r.unwrap_or_else(|e| fail(format!("{what}: {e:?}")))
}

fn check(what: &str, pass: bool) {
    if !pass {
        fail(what);
    }
    println!("  ok  {what}");
}

/// Every key, following cursors when the host pages.
fn all_keys(b: &store::Bucket) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = ok("list-keys", b.list_keys(cursor));
        keys.extend(page.keys);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return keys,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("count") {
        let key = args.get(1).unwrap_or_else(|| usage("count needs a KEY"));
        let bucket = ok("open(\"in_memory\")", store::open("in_memory"));
        println!("{key} = {}", ok("increment", atomics::increment(&bucket, key, 1)));
        return;
    }
    // One bucket for the whole run: wasmtime's in-memory store gives each
    // open("") its own copy of the data.
    let bucket = ok("open(\"\")", store::open(""));
    match args.first().map(String::as_str).unwrap_or("check") {
        "check" => check_portable(&bucket),
        "check-kvhost" => {
            check_portable(&bucket);
            check_kvhost(&bucket);
        }
        "show" => {
            let key = args.get(1).unwrap_or_else(|| usage("show needs a KEY"));
            match ok("get", bucket.get(key)) {
                Some(v) => println!("{key} = {}", String::from_utf8_lossy(&v)),
                None => println!("{key} is absent"),
            }
        }
        "bench" => {
            // Same work as kvdemo's bench: 16-byte key, 100-byte value, timed in the guest.
            let op = match args.get(1).map(String::as_str) {
                Some(op @ ("get" | "set")) => op,
                _ => usage("bench needs get or set, then N"),
            };
            let n: u32 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or_else(|| usage("bench needs a number N"));
            let (key, value) = ("bench-key-0000ab", [7u8; 100]);
            ok("set", bucket.set(key, &value));
            let start = std::time::Instant::now();
            for _ in 0..n {
                match op {
                    "get" => drop(std::hint::black_box(ok("get", bucket.get(key)))),
                    "set" => ok("set", bucket.set(key, &value)),
                    _ => unreachable!("checked above"),
                }
            }
            // The figure stays the last word: kvhost-bench reads it.
            let ns = start.elapsed().as_nanos() as f64 / f64::from(n.max(1));
            println!("bench {op} {n} {op}s, ns per {op}: {ns:.1}");
        }
        "hammer" => {
            let n: u32 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| usage("hammer needs a number N"));
            for _ in 0..n {
                ok("increment", atomics::increment(&bucket, "counter", 1));
            }
            println!("hammered {n}");
        }
        other => usage(format!("unknown command {other}")),
    }
}

fn check_portable(b: &store::Bucket) {
    println!("kv-draft: checking wasi:keyvalue@0.2.0-draft");
    let preset = all_keys(b);
    check("get of a missing key is none", ok("get", b.get("kv-draft:greeting")).is_none());
    ok("set", b.set("kv-draft:greeting", b"hello"));
    check("set then get", ok("get", b.get("kv-draft:greeting")).as_deref() == Some(&b"hello"[..]));
    check("exists", ok("exists", b.exists("kv-draft:greeting")));
    ok("delete", b.delete("kv-draft:greeting"));
    check("delete removes", !ok("exists", b.exists("kv-draft:greeting")));

    let many: Vec<(String, Vec<u8>)> = (0..1500).map(|i| (format!("kv-draft:{i:05}"), vec![b'x'])).collect();
    ok("set-many", batch::set_many(b, &many));
    let mut listed: Vec<String> = all_keys(b).into_iter().filter(|k| !preset.contains(k)).collect();
    listed.sort();
    let expected: Vec<String> = many.iter().map(|(k, _)| k.clone()).collect();
    check("list-keys returns every key exactly once", listed == expected);
    let got = ok("get-many", batch::get_many(b, &["kv-draft:00000".into(), "kv-draft:nope".into()]));
    check("get-many returns present keys with values", got == [Some(("kv-draft:00000".to_string(), vec![b'x'])), None]);
    let keys: Vec<String> = many.iter().map(|(k, _)| k.clone()).collect();
    ok("delete-many", batch::delete_many(b, &keys));
    check("delete-many removes", all_keys(b) == preset);

    ok("set", b.set("kv-draft:counter", b"5"));
    check("increment of \"5\" by 1 is 6", ok("increment", atomics::increment(b, "kv-draft:counter", 1)) == 6);
    check("the counter is stored as decimal text", ok("get", b.get("kv-draft:counter")).as_deref() == Some(&b"6"[..]));
    ok("set", b.set("kv-draft:word", b"five"));
    check("increment of text is an error, not a trap", atomics::increment(b, "kv-draft:word", 1).is_err());
    ok("delete", b.delete("kv-draft:counter"));
    ok("delete", b.delete("kv-draft:word"));
    println!("kv-draft: all portable checks passed");
}

fn check_kvhost(b: &store::Bucket) {
    let many: Vec<(String, Vec<u8>)> = (0..1500).map(|i| (format!("page:{i:05}"), vec![b'x'])).collect();
    ok("set-many", batch::set_many(b, &many));
    let first = ok("list-keys", b.list_keys(None));
    check("a page holds at most 1000 keys and gives a cursor", first.keys.len() == 1000 && first.cursor.is_some());
    let cursor = first.cursor.unwrap_or_else(|| fail("no cursor"));
    check("a cursor the bucket did not issue is an error", b.list_keys(Some(cursor + 12345)).is_err());
    let second = ok("list-keys", b.list_keys(Some(cursor)));
    check(
        "the cursor resumes where the page ended",
        second.cursor.is_none() && first.keys.len() + second.keys.len() >= 1500,
    );
    let keys: Vec<String> = many.iter().map(|(k, _)| k.clone()).collect();
    ok("delete-many", batch::delete_many(b, &keys));
    check("open(\"default\") is the default store", store::open("default").is_ok());
    check(
        "an ungranted store is access-denied",
        matches!(store::open("surely:not-granted"), Err(store::Error::AccessDenied)),
    );
    println!("kv-draft: all kvhost checks passed");
}
