//! kv-watcher: a `wasi:keyvalue/watcher` (world `watch-service` of
//! `wasi:keyvalue@0.2.0-draft2`, Spin's) that keeps an audit log.
//!
//! Registered with `watch: [{store: ..., prefix: "user:"}]`, it is called
//! once per change to a `user:` key and appends a line to the same store:
//! `audit:00000001 = "set user:1 Ada"`, `audit:00000002 = "delete user:1"`,
//! numbered by an atomic counter `audit:seq` (`AUDIT_PREFIX` in its
//! environment replaces `audit:`). It writes only `audit:` keys,
//! which it does not watch, so its own writes never call it again.
//!
//! Two kinds of key show what a failing watcher does (the host's tests use
//! them): a key containing `trap` makes it panic (that call fails, the next
//! change is delivered), and a key containing `slow` makes it compute for
//! 20 ms before logging (writers do not wait for it).

/// The watcher's world: `watch-service` of `wasi:keyvalue@0.2.0-draft2`, or
/// with the feature `draft` of `0.2.0-draft` (wasmtime's), so that the host
/// is tested with both.
#[cfg(not(feature = "draft"))]
mod kv {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasi:keyvalue/watch-service@0.2.0-draft2",
        pub_export_macro: true,
    });
    pub use self::exports::wasi::keyvalue0_2_0_draft2::watcher::Guest;
    pub use self::wasi::keyvalue0_2_0_draft2::store::Bucket;
    use self::wasi::keyvalue0_2_0_draft2::atomics;

    pub fn increment(bucket: &Bucket, key: &str) -> u64 {
        atomics::increment(bucket, key, 1).unwrap_or_else(|e| panic!("{key}: {e:?}")) as u64
    }
}

#[cfg(feature = "draft")]
mod kv {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasi:keyvalue/watch-service@0.2.0-draft",
        pub_export_macro: true,
    });
    pub use self::exports::wasi::keyvalue0_2_0_draft::watcher::Guest;
    pub use self::wasi::keyvalue0_2_0_draft::store::Bucket;
    use self::wasi::keyvalue0_2_0_draft::atomics;

    pub fn increment(bucket: &Bucket, key: &str) -> u64 {
        atomics::increment(bucket, key, 1).unwrap_or_else(|e| panic!("{key}: {e:?}"))
    }
}

use kv::{Bucket, Guest};

struct AuditLog;

impl Guest for AuditLog {
    fn on_set(bucket: Bucket, key: String, value: Vec<u8>) {
        misbehave(&key);
        append(&bucket, &format!("set {key} {}", String::from_utf8_lossy(&value)));
    }

    fn on_delete(bucket: Bucket, key: String) {
        misbehave(&key);
        append(&bucket, &format!("delete {key}"));
    }
}

/// Append `line` to the audit log: `audit:N`, N from the counter
/// `audit:seq`. The environment variable `AUDIT_PREFIX` (`env:` of the
/// registry entry) puts the log under another prefix than `audit:`.
fn append(bucket: &Bucket, line: &str) {
    let prefix = std::env::var("AUDIT_PREFIX").unwrap_or_else(|_| "audit:".to_owned());
    let n = kv::increment(bucket, &format!("{prefix}seq"));
    let key = format!("{prefix}{n:08}");
    bucket.set(&key, line.as_bytes()).unwrap_or_else(|e| panic!("{key}: {e:?}"));
}

/// Trap on `trap` keys; compute for a while on `slow` keys.
fn misbehave(key: &str) {
    if key.contains("trap") {
        panic!("kv-watcher: asked to trap by {key}");
    }
    if key.contains("slow") {
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
}

kv::export!(AuditLog with_types_in kv);
