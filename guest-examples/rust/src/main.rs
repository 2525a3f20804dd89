//! kvdemo: a kvhost guest that uses every `kvhost:store` operation.
//!
//! `kvdemo` (or `kvdemo demo`) runs a self-check on each `--store` (default:
//! the default store) and exits non-zero with a message if a store misbehaves. The other subcommands do one operation
//! each, so a store can be driven from the shell:
//!
//! ```text
//! kvdemo [--store ID]... demo | info | get KEY | set KEY VALUE [TTL_MS] | delete KEY
//!        | exists KEY | clear | expect KEY VALUE | expect-missing KEY | fill PREFIX N
//!        | fill-ack PREFIX N | write-until PREFIX N | probe KEY | list PREFIX [LIMIT]
//!        | get-many KEY... | set-many PREFIX N SIZE | trap | spin | alloc | wait-for KEY | bench OP N
//! ```

wit_bindgen::generate!({
    path: "../../wit",
    world: "kvhost:store/guest",
});

mod faults;
mod probe;

use kvhost::store::store::{Bucket, open};
use kvhost::store::types::{Condition, Error};
use std::process::exit;

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("kvdemo: FAILED: {msg}");
    exit(1)
}

const USAGE: &str = "usage: kvdemo [--store ID]... [demo] | info | get KEY | set KEY VALUE [TTL_MS] | delete KEY
       | exists KEY | clear | expect KEY VALUE | expect-missing KEY | fill PREFIX N
       | fill-ack PREFIX N | write-until PREFIX N | probe KEY | list PREFIX [LIMIT]
       | get-many KEY... | set-many PREFIX N SIZE | trap | spin | alloc | wait-for KEY | bench get|set|mix N";

/// A command line kvdemo does not understand: the reason and the usage, then a
/// non-zero exit (wasip2 reports any non-zero code as 1).
fn usage(msg: impl std::fmt::Display) -> ! {
    eprintln!("kvdemo: {msg}\n{USAGE}");
    exit(2)
}

fn describe(e: &Error) -> String {
    match e {
        Error::NoSuchStore => "no-such-store".into(),
        Error::AccessDenied => "access-denied".into(),
        Error::StoreFull => "store-full".into(),
        Error::InvalidArgument(m) => format!("invalid-argument: {m}"),
        Error::TooLarge(m) => format!("too-large: {m}"),
        Error::Conflict => "conflict".into(),
        Error::Unavailable(m) => format!("unavailable: {m}"),
        Error::Other(m) => format!("other: {m}"),
    }
}

/// Unwrap a store result or exit with the operation and the error.
fn ok<T>(what: &str, r: Result<T, Error>) -> T {
    r.unwrap_or_else(|e| fail(format!("{what}: {}", describe(&e))))
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut store_ids = Vec::new();
    while args.first().map(String::as_str) == Some("--store") {
        if args.len() < 2 {
            usage("--store needs an ID");
        }
        store_ids.push(args.remove(1));
        args.remove(0);
    }
    if store_ids.is_empty() {
        store_ids.push(String::new());
    }
    let buckets: Vec<Bucket> = store_ids.iter().map(|id| ok(&format!("open({id:?})"), open(id))).collect();
    if args.first().is_none_or(|a| a == "demo") {
        buckets.iter().for_each(demo);
        return;
    }
    if buckets.len() > 1 {
        usage("only `demo` takes several --store flags");
    }
    let bucket = &buckets[0];
    if args[0] == "noop" {
        // Opens its store and returns: the trivial guest of kvhost-bench.
        return;
    }
    let arg = |i: usize| {
        args.get(i).map(String::as_str).unwrap_or_else(|| usage(format!("{} needs more arguments", args[0])))
    };
    match args[0].as_str() {
        "info" => {
            let i = bucket.info();
            println!(
                "{} backend={} durable={} max_key_bytes={} max_value_bytes={}",
                i.id, i.backend, i.durable, i.max_key_bytes, i.max_value_bytes
            );
        }
        "get" => match ok("get", bucket.get(arg(1))) {
            Some(v) => println!("{}", String::from_utf8_lossy(&v)),
            None => println!("(none)"),
        },
        "set" => {
            let ttl = args.get(3).map(|t| t.parse::<u64>().unwrap_or_else(|_| usage("TTL_MS must be a number")));
            ok("set", bucket.set(arg(1), arg(2).as_bytes(), ttl));
            println!("ok");
        }
        "delete" => println!("{}", ok("delete", bucket.delete(arg(1)))),
        "exists" => println!("{}", ok("exists", bucket.exists(arg(1)))),
        "clear" => {
            ok("clear", bucket.clear());
            println!("ok");
        }
        "expect" => match ok("get", bucket.get(arg(1))) {
            Some(v) if v == arg(2).as_bytes() => println!("ok: {} = {}", arg(1), arg(2)),
            other => fail(format!(
                "{} is {:?}, expected {:?}",
                arg(1),
                other.map(|v| String::from_utf8_lossy(&v).into_owned()),
                arg(2)
            )),
        },
        "expect-missing" => match ok("get", bucket.get(arg(1))) {
            None if !ok("exists", bucket.exists(arg(1))) => println!("ok: {} is absent", arg(1)),
            _ => fail(format!("{} should be absent", arg(1))),
        },
        "fill" => {
            let n: u32 = arg(2).parse().unwrap_or_else(|_| usage("N must be a number"));
            let mut stored = 0;
            for i in 0..n {
                match bucket.set(&format!("{}{i}", arg(1)), b"x", None) {
                    Ok(()) => stored += 1,
                    Err(e) => {
                        println!("stored {stored}, then {}", describe(&e));
                        return;
                    }
                }
            }
            println!("stored {stored}");
        }
        "fill-ack" => {
            // Sets PREFIX0, PREFIX1, ... and prints "ack i" after each set
            // returns: a record of acknowledged writes for crash tests.
            let n: u32 = arg(2).parse().unwrap_or_else(|_| usage("N must be a number"));
            for i in 0..n {
                ok("set", bucket.set(&format!("{}{i}", arg(1)), format!("value {i}").as_bytes(), None));
                println!("ack {i}");
            }
        }
        "bench" => bench(bucket, arg(1), arg(2).parse().unwrap_or_else(|_| usage("N must be a number"))),
        "write-until" => {
            faults::write_until(bucket, arg(1), arg(2).parse().unwrap_or_else(|_| usage("N must be a number")))
        }
        "trap" | "spin" | "alloc" => faults::misbehave(bucket, &args[0]),
        "probe" => probe::probe(bucket, arg(1)),
        "list" => probe::list(
            bucket,
            arg(1),
            args.get(2).map_or(0, |l| l.parse().unwrap_or_else(|_| usage("LIMIT must be a number"))),
        ),
        "get-many" => probe::get_many(bucket, &args[1..]),
        "set-many" => {
            let number = |i: usize| arg(i).parse().unwrap_or_else(|_| usage("N and SIZE must be numbers"));
            probe::set_many(bucket, arg(1), number(2), number(3) as usize)
        }
        "wait-for" => {
            // Polls until KEY exists: a guest that can run forever, for testing
            // timeouts and Ctrl-C.
            while !ok("exists", bucket.exists(arg(1))) {}
            println!("ok: {} appeared", arg(1));
        }
        other => usage(format!("unknown command {other}")),
    }
}

struct Checks(u32);

impl Checks {
    fn check(&mut self, what: &str, pass: bool) {
        if !pass {
            fail(what);
        }
        self.0 += 1;
        println!("  ok  {what}");
    }
}

fn demo(b: &Bucket) {
    let info = b.info();
    println!("kvdemo: store {} on {} backend", info.id, info.backend);
    let mut c = Checks(0);
    ok("clear", b.clear());

    c.check("get of a missing key is none", ok("get", b.get("greeting")).is_none());
    ok("set", b.set("greeting", b"hello", None));
    c.check("set then get returns the value", ok("get", b.get("greeting")).as_deref() == Some(&b"hello"[..]));
    c.check("exists after set", ok("exists", b.exists("greeting")));
    ok("set", b.set("greeting", b"hello again", None));
    c.check("set overwrites", ok("get", b.get("greeting")).as_deref() == Some(&b"hello again"[..]));

    let bytes: Vec<u8> = (0..=255u8).chain([0, 0, b'\'', b'"', b';']).collect();
    ok("set", b.set("bytes/\u{e9}\u{1F600}", &bytes, None));
    c.check("binary values and UTF-8 keys round-trip", ok("get", b.get("bytes/\u{e9}\u{1F600}")) == Some(bytes));

    c.check("delete of a present key returns true", ok("delete", b.delete("greeting")));
    c.check("delete of an absent key returns false", !ok("delete", b.delete("greeting")));
    c.check("deleted key does not exist", !ok("exists", b.exists("greeting")));

    ok("set", b.set("session", b"token", Some(60_000)));
    c.check("an entry with a 60s TTL is visible", ok("get", b.get("session")).as_deref() == Some(&b"token"[..]));
    ok("set", b.set("forever", b"1", Some(0)));
    c.check("a TTL of 0 means no expiry", ok("exists", b.exists("forever")));

    c.check("an empty key is invalid-argument", matches!(b.get(""), Err(Error::InvalidArgument(_))));
    let long = "k".repeat(info.max_key_bytes as usize + 1);
    c.check("an over-long key is invalid-argument", matches!(b.set(&long, b"v", None), Err(Error::InvalidArgument(_))));
    c.check("an ungranted store is access-denied", matches!(open("surely:not-granted"), Err(Error::AccessDenied)));

    // Listing by prefix, in pages, with an opaque cursor.
    let users: Vec<(String, Vec<u8>)> = (0..25).map(|i| (format!("user:{i:02}"), b"u".to_vec())).collect();
    ok("set-many", b.set_many(&users, None));
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ok("list-keys", b.list_keys("user:", cursor.as_deref(), 10));
        listed.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = users.iter().map(|(k, _)| k.clone()).collect();
    c.check("list-keys pages through a prefix in order", listed == expected);
    c.check(
        "a forged cursor is invalid-argument",
        matches!(b.list_keys("", Some("forged"), 10), Err(Error::InvalidArgument(_))),
    );

    // Batches.
    let got = ok("get-many", b.get_many(&["user:00".into(), "nobody".into()]));
    c.check("get-many returns values in order", got == [Some(b"u".to_vec()), None]);
    c.check("delete-many counts what it removed", ok("delete-many", b.delete_many(&expected)) == 25);

    // Versions and conditional writes.
    let v1 = ok("put", b.put("config", b"v1", None, Condition::IfAbsent));
    c.check(
        "put if-absent on a taken key is a conflict",
        matches!(b.put("config", b"x", None, Condition::IfAbsent), Err(Error::Conflict)),
    );
    let entry = ok("get-entry", b.get_entry("config")).unwrap_or_else(|| fail("config vanished"));
    c.check("get-entry returns the value and its version", entry.value == b"v1" && entry.version == v1);
    ok("put", b.put("config", b"v2", None, Condition::IfVersion(v1)));
    c.check(
        "put if-version with a stale version is a conflict",
        matches!(b.put("config", b"v3", None, Condition::IfVersion(v1)), Err(Error::Conflict)),
    );

    // Counters kept as decimal text.
    ok("set", b.set("hits", b"5", None));
    c.check("increment of \"5\" by 1 is 6", ok("increment", b.increment("hits", 1)) == 6);
    c.check("a counter is decimal text", ok("get", b.get("hits")).as_deref() == Some(&b"6"[..]));
    ok("set", b.set("word", b"abc", None));
    c.check("increment of text is invalid-argument", matches!(b.increment("word", 1), Err(Error::InvalidArgument(_))));

    ok("clear", b.clear());
    c.check("clear removes every entry", !ok("exists", b.exists("session")) && !ok("exists", b.exists("forever")));
    println!("kvdemo: all {} checks passed", c.0);
}

/// Time `n` calls of `op` on a 16-byte key and a 100-byte value, measured
/// inside the guest, and print `bench OP N OPs, ns per OP: NS` (for example
/// `bench get 1000 gets, ns per get: 312.5`; the figure stays the last word,
/// which is what kvhost-bench reads).
fn bench(b: &Bucket, op: &str, n: u32) {
    if op == "mix" {
        return bench_mix(b, n);
    }
    if op != "get" && op != "set" {
        usage(format!("unknown bench op {op}: bench get|set|mix N"));
    }
    let key = "bench-key-0000ab";
    let value = [7u8; 100];
    // Written once if absent, so that many guests benching gets at once do
    // not queue on one row's write lock before they start.
    if !ok("exists", b.exists(key)) {
        ok("set", b.set(key, &value, None));
    }
    let start = std::time::Instant::now();
    for _ in 0..n {
        match op {
            "get" => {
                std::hint::black_box(ok("get", b.get(key)));
            }
            "set" => ok("set", b.set(key, &value, None)),
            _ => unreachable!("checked above"),
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    println!("bench {op} {n} {op}s, ns per {op}: {ns:.1}");
}

/// `bench mix N`: N operations over 1,024 keys, three gets to one set.
fn bench_mix(b: &Bucket, n: u32) {
    let value = [7u8; 100];
    let keys: Vec<String> = (0..1024).map(|i| format!("bench-mix-{i:06}")).collect();
    for k in &keys {
        ok("set", b.set(k, &value, None));
    }
    let start = std::time::Instant::now();
    for i in 0..n as usize {
        let key = &keys[i.wrapping_mul(7919) % keys.len()];
        if i % 4 == 3 {
            ok("set", b.set(key, &value, None));
        } else {
            std::hint::black_box(ok("get", b.get(key)));
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    println!("bench mix {n} ops, ns per op: {ns:.1}");
}
