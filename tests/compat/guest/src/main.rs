//! Every function of kvhost:store@0.1.0, through bindings generated from the
//! interface as first released, checked against what 0.1.0 promises.

wit_bindgen::generate!({
    path: "../kvhost-store-0.1.0.wit",
    world: "kvhost:store/guest",
});

use kvhost::store::store::open;
use kvhost::store::types::{Condition, Error};

fn main() {
    let mut passed = 0;
    let mut check = |what: &str, ok: bool| {
        if !ok {
            eprintln!("compat: FAILED: {what}");
            std::process::exit(1);
        }
        passed += 1;
    };
    let b = open("").expect("open the default store");
    check("open an ungranted store is access-denied", matches!(open("app:nope"), Err(Error::AccessDenied)));
    let info = b.info();
    check("info", info.id == "default" && info.max_key_bytes > 0);

    b.set("k", b"v", Some(60_000)).unwrap();
    check("get", b.get("k").unwrap().as_deref() == Some(&b"v"[..]));
    check("exists", b.exists("k").unwrap());
    check("delete", b.delete("k").unwrap() && !b.exists("k").unwrap());
    check("an empty key is invalid-argument", matches!(b.get(""), Err(Error::InvalidArgument(_))));

    let v = b.put("p", b"1", None, Condition::IfAbsent).unwrap();
    check("put if-absent conflicts", matches!(b.put("p", b"2", None, Condition::IfAbsent), Err(Error::Conflict)));
    let entry = b.get_entry("p").unwrap().unwrap();
    check("get-entry", entry.value == b"1" && entry.version == v);
    b.put("p", b"3", None, Condition::IfVersion(entry.version)).unwrap();
    check("increment", b.increment("n", 2).unwrap() == 2 && b.increment("n", 3).unwrap() == 5);

    let pairs: Vec<(String, Vec<u8>)> = (0..5).map(|i| (format!("m:{i}"), vec![b'a' + i])).collect();
    b.set_many(&pairs, None).unwrap();
    let keys: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
    check("get-many", b.get_many(&keys).unwrap().iter().all(Option::is_some));
    let first = b.list_keys("m:", None, 2).unwrap();
    let rest = b.list_keys("m:", first.cursor.as_deref(), 0).unwrap();
    check("list-keys pages with a cursor", first.keys.len() == 2 && rest.keys.len() == 3 && rest.cursor.is_none());
    check("delete-many", b.delete_many(&keys).unwrap() == 5);
    b.clear().unwrap();
    check("clear", b.list_keys("", None, 0).unwrap().keys.is_empty());
    println!("compat: all {passed} checks passed");
}
