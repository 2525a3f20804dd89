//! Subcommands that report what a store allows instead of failing: for
//! testing grants and limits from outside.

use crate::describe;
use crate::kvhost::store::store::Bucket;
use crate::kvhost::store::types::Condition;

fn show<T>(op: &str, r: Result<T, crate::kvhost::store::types::Error>) {
    match r {
        Ok(_) => println!("{op}: ok"),
        Err(e) => println!("{op}: {}", describe(&e)),
    }
}

/// `probe KEY`: every operation on KEY, one line each: `OP: ok` or `OP: ERROR`.
/// Writes come before the final `clear`.
pub fn probe(b: &Bucket, key: &str) {
    let keys = [key.to_owned()];
    show("get", b.get(key));
    show("exists", b.exists(key));
    show("get-entry", b.get_entry(key));
    show("get-many", b.get_many(&keys));
    match b.list_keys(key, None, 0) {
        Ok(page) => println!("list-keys: {} keys", page.keys.len()),
        Err(e) => println!("list-keys: {}", crate::describe(&e)),
    }
    show("set", b.set(key, b"probe", None));
    show("put", b.put(key, b"probe", None, Condition::Always));
    show("increment", b.increment(&format!("{key}#n"), 1));
    show("set-many", b.set_many(&[(key.to_owned(), b"probe".to_vec())], None));
    show("delete", b.delete(key));
    show("delete-many", b.delete_many(&keys));
    show("clear", b.clear());
}

/// `list PREFIX [LIMIT]`: every key under PREFIX, page by page, then `pages N`.
pub fn list(b: &Bucket, prefix: &str, limit: u32) {
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = match b.list_keys(prefix, cursor.as_deref(), limit) {
            Ok(page) => page,
            Err(e) => return println!("list-keys: {}", describe(&e)),
        };
        pages += 1;
        page.keys.iter().for_each(|k| println!("{k}"));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    println!("pages {pages}");
}

/// `get-many KEY...`: how many values and bytes came back, or the error.
pub fn get_many(b: &Bucket, keys: &[String]) {
    match b.get_many(keys) {
        Ok(values) => {
            let bytes: usize = values.iter().flatten().map(Vec::len).sum();
            println!("get-many: {} values, {bytes} bytes", values.iter().flatten().count());
        }
        Err(e) => println!("get-many: {}", describe(&e)),
    }
}

/// `set-many PREFIX N SIZE`: one set-many of N entries of SIZE bytes, then `ok` or the error.
pub fn set_many(b: &Bucket, prefix: &str, n: u32, size: usize) {
    let entries: Vec<(String, Vec<u8>)> = (0..n).map(|i| (format!("{prefix}{i}"), vec![b'v'; size])).collect();
    show("set-many", b.set_many(&entries, None));
}
