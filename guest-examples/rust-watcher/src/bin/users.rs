//! users: a command that writes a few `user:` keys to its default store
//! (and one `order:` key, which the watchers do not watch), waits (up to
//! 10 s) until the key given as its argument exists (default
//! `audit:00000004`, the kv-watcher's fourth audit line), and prints every
//! key of the store with its value, so that a watcher's work shows in one run.

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasi:keyvalue/imports@0.2.0-draft2",
});

use std::time::{Duration, Instant};

use wasi::keyvalue0_2_0_draft2::store;

fn main() {
    let wait_for = std::env::args().nth(1).unwrap_or_else(|| "audit:00000004".to_owned());
    let bucket = store::open("default").expect("a default store");
    bucket.set("user:1", b"Ada").unwrap();
    bucket.set("user:2", b"Grace").unwrap();
    bucket.set("order:7", b"tea").unwrap();
    bucket.set("user:1", b"Ada Lovelace").unwrap();
    bucket.delete("user:2").unwrap();
    let start = Instant::now();
    while !bucket.exists(&wait_for).unwrap() {
        if start.elapsed() > Duration::from_secs(10) {
            eprintln!("users: {wait_for} did not appear within 10 s: is the watcher running?");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = bucket.list_keys(cursor.as_deref()).unwrap();
        keys.extend(page.keys);
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    keys.sort();
    for key in keys {
        let value = bucket.get(&key).unwrap().unwrap_or_default();
        println!("{key} = {}", String::from_utf8_lossy(&value));
    }
}
