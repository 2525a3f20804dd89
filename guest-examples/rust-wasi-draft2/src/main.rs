//! kv-draft2: a guest for `wasi:keyvalue@0.2.0-draft2`, the version Spin
//! implements. It knows nothing of kvhost.
//!
//! `kv-draft2 [check]` asserts every function of store, atomics and batch on
//! the default store and exits non-zero on the first failure.
//! `kv-draft2 hammer N` increments `counter` N times and CAS-increments `cas`
//! N times, for concurrency tests across instances.

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasi:keyvalue/imports@0.2.0-draft2",
});

use std::process::exit;
use wasi::keyvalue0_2_0_draft2::{atomics, batch, store};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("kv-draft2: FAILED: {msg}");
    exit(1)
}

const USAGE: &str = "usage: kv-draft2 [check] | hammer N";

/// A command line kv-draft2 does not understand: the reason and the usage, then a
/// non-zero exit (wasip2 reports any non-zero code as 1).
fn usage(msg: impl std::fmt::Display) -> ! {
    eprintln!("kv-draft2: {msg}\n{USAGE}");
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bucket = ok("open(\"\")", store::open(""));
    match args.first().map(String::as_str).unwrap_or("check") {
        "check" => check_all(&bucket),
        "hammer" => {
            let n: u32 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| usage("hammer needs a number N"));
            for _ in 0..n {
                ok("increment", atomics::increment(&bucket, "counter", 1));
                cas_increment(&bucket, "cas");
            }
            println!("hammered {n}");
        }
        other => usage(format!("unknown command {other}")),
    }
}

/// Add one to the decimal number under `key` with compare-and-swap, retrying
/// when another instance got there first.
fn cas_increment(bucket: &store::Bucket, key: &str) {
    let mut cas = ok("cas new", atomics::Cas::new(bucket, key));
    loop {
        let n: i64 = ok("cas current", cas.current())
            .map(|v| {
                String::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| fail("cas value is not a number"))
            })
            .unwrap_or(0);
        match atomics::swap(cas, (n + 1).to_string().as_bytes()) {
            Ok(()) => return,
            Err(atomics::CasError::CasFailed(fresh)) => cas = fresh,
            Err(atomics::CasError::StoreError(e)) => fail(format!("swap: {e:?}")),
        }
    }
}

fn check_all(b: &store::Bucket) {
    println!("kv-draft2: checking wasi:keyvalue@0.2.0-draft2");
    // store
    for k in ok("list-keys", b.list_keys(None)).keys {
        ok("delete", b.delete(&k));
    }
    check("get of a missing key is none", ok("get", b.get("greeting")).is_none());
    ok("set", b.set("greeting", b"hello"));
    check("set then get", ok("get", b.get("greeting")).as_deref() == Some(&b"hello"[..]));
    check("exists", ok("exists", b.exists("greeting")));
    ok("delete", b.delete("greeting"));
    check("delete removes", !ok("exists", b.exists("greeting")));
    ok("delete", b.delete("greeting"));
    check("delete of an absent key is fine", true);

    // list-keys with a real cursor: 1500 keys need two pages.
    let many: Vec<(String, Vec<u8>)> = (0..1500).map(|i| (format!("key{i:05}"), vec![b'x'])).collect();
    ok("set-many", batch::set_many(b, &many));
    let first = ok("list-keys", b.list_keys(None));
    check("a page holds at most 1000 keys and gives a cursor", first.keys.len() == 1000 && first.cursor.is_some());
    let second = ok("list-keys", b.list_keys(first.cursor.as_deref()));
    check("the cursor resumes where the page ended", second.keys.len() == 500 && second.cursor.is_none());
    let mut all = first.keys.clone();
    all.extend(second.keys);
    let expected: Vec<String> = many.iter().map(|(k, _)| k.clone()).collect();
    check("every key exactly once, in order", all == expected);
    check("a cursor the store did not issue is an error", b.list_keys(Some("forged")).is_err());

    // batch
    let got = ok("get-many", batch::get_many(b, &["key00000".into(), "nope".into()]));
    check(
        "get-many pairs keys with values",
        got == [("key00000".to_string(), Some(vec![b'x'])), ("nope".to_string(), None)],
    );
    let keys: Vec<String> = many.iter().map(|(k, _)| k.clone()).collect();
    ok("delete-many", batch::delete_many(b, &keys));
    check("delete-many removes", ok("list-keys", b.list_keys(None)).keys.is_empty());

    // atomics
    ok("set", b.set("counter", b"5"));
    check("increment of \"5\" by 1 is 6", ok("increment", atomics::increment(b, "counter", 1)) == 6);
    check("the counter is stored as decimal text", ok("get", b.get("counter")).as_deref() == Some(&b"6"[..]));
    check("increment of an absent key starts at 0", ok("increment", atomics::increment(b, "fresh", -3)) == -3);
    ok("set", b.set("word", b"five"));
    check("increment of text is an error, not a trap", atomics::increment(b, "word", 1).is_err());

    let cas = ok("cas new", atomics::Cas::new(b, "cas-key"));
    check("cas of an absent key reads none", ok("current", cas.current()).is_none());
    check("swap succeeds when nothing changed", atomics::swap(cas, b"v1").is_ok());
    let stale = ok("cas new", atomics::Cas::new(b, "cas-key"));
    ok("set", b.set("cas-key", b"changed"));
    match atomics::swap(stale, b"v2") {
        Err(atomics::CasError::CasFailed(fresh)) => {
            check(
                "a stale swap fails, with the current value",
                ok("current", fresh.current()).as_deref() == Some(&b"changed"[..]),
            );
            check("retrying with the fresh handle succeeds", atomics::swap(fresh, b"v2").is_ok());
        }
        other => fail(format!(
            "stale swap: expected cas-failed, got {:?}",
            other.map_err(|e| matches!(e, atomics::CasError::StoreError(_)))
        )),
    }
    check("the swapped value is stored", ok("get", b.get("cas-key")).as_deref() == Some(&b"v2"[..]));

    // open
    check("open(\"default\") is the default store", store::open("default").is_ok());
    check(
        "an ungranted store is access-denied",
        matches!(store::open("surely:not-granted"), Err(store::Error::AccessDenied)),
    );
    for k in ["counter", "fresh", "word", "cas-key"] {
        ok("delete", b.delete(k));
    }
    println!("kv-draft2: all checks passed");
}
