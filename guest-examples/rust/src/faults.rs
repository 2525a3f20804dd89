//! Misbehaving guests, for testing that kvhost contains them, and a writer
//! that keeps going through store outages.

use crate::kvhost::store::store::Bucket;
use crate::{describe, ok};

/// Write `NAME:before`, then do what `how` says: `trap` (a panic, which
/// aborts), `spin` (loop forever without calling the host) or `alloc` (grow
/// memory without bound).
pub fn misbehave(b: &Bucket, how: &str) {
    ok("set", b.set(&format!("{how}:before"), b"1", None));
    println!("{how}: wrote {how}:before");
    match how {
        "trap" => panic!("kvdemo trap: deliberate"),
        "spin" => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        other => crate::fail(format!("unknown fault {other}")),
    }
}

/// `write-until PREFIX N`: set PREFIX0, PREFIX1, ... until N writes have
/// succeeded, printing `ack I` for each success and `err I ERROR` for each
/// failure (the key is then skipped, not retried), then a summary line.
/// Gives up after 1,000,000 failures.
pub fn write_until(b: &Bucket, prefix: &str, n: u64) {
    let (mut acked, mut failed) = (0u64, 0u64);
    let mut i = 0u64;
    while acked < n && failed < 1_000_000 {
        match b.set(&format!("{prefix}{i}"), format!("value {i}").as_bytes(), None) {
            Ok(()) => {
                acked += 1;
                println!("ack {i}");
            }
            Err(e) => {
                failed += 1;
                println!("err {i} {}", describe(&e));
            }
        }
        i += 1;
    }
    println!("acked {acked} failed {failed}");
}
