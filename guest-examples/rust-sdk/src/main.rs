//! kvtour: the kvhost-guest SDK on the default store (or `--store ID`).
//!
//! `kvtour [tour]` checks each part of the SDK and says how many checks
//! passed; `visit` counts visits; `keys PREFIX` lists keys, paging for you.

use std::process::exit;
use std::time::Duration;

use kvhost_guest::{Condition, Error, Store};
use serde::{Deserialize, Serialize};

const USAGE: &str = "usage: kvtour [--store ID] [tour] | visit | keys PREFIX | fill PREFIX N";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    langs: Vec<String>,
}

/// Counts checks; the first failure ends the program.
struct Checks(u32);

impl Checks {
    fn check(&mut self, what: &str, ok: bool) {
        if !ok {
            eprintln!("kvtour: FAILED: {what}");
            exit(1);
        }
        self.0 += 1;
    }
}

fn tour(store: &Store) -> Result<u32, Error> {
    let mut c = Checks(0);
    let info = store.info();
    println!("kvtour: store {} on {} backend", info.id, info.backend);

    store.set_with_ttl("greeting", "hello", Duration::from_secs(3600))?;
    c.check("get after set_with_ttl", store.get("greeting")?.as_deref() == Some(&b"hello"[..]));
    c.check(
        "a zero TTL is refused",
        matches!(store.set_with_ttl("x", "y", Duration::ZERO), Err(Error::InvalidArgument(_))),
    );
    c.check("exists", store.exists("greeting")?);
    c.check("delete", store.delete("greeting")? && !store.exists("greeting")?);

    c.check("increment from absent", store.increment("tour:count", 5)? == 5);
    c.check("increment down", store.increment("tour:count", -2)? == 3);

    let first = store.put_if_absent("tour:lock", "me")?;
    c.check("put_if_absent twice", matches!(store.put_if_absent("tour:lock", "you"), Err(Error::Conflict)));
    let entry = store.get_entry("tour:lock")?.expect("the lock is there");
    c.check("get_entry gives the version put returned", entry.version == first && entry.value == b"me");
    store.put_if_version("tour:lock", "me again", entry.version)?;
    c.check(
        "a stale version conflicts",
        matches!(store.put_if_version("tour:lock", "x", entry.version), Err(Error::Conflict)),
    );
    store.put("tour:lock", "free", None, Condition::Always)?;

    let items: Vec<(String, String)> = (0..2500).map(|i| (format!("tour:item:{i:05}"), i.to_string())).collect();
    for chunk in items.chunks(500) {
        store.set_many(chunk.iter().map(|(k, v)| (k, v)))?;
    }
    let keys: Vec<String> = store.keys("tour:item:").collect::<Result<_, _>>()?;
    c.check("keys pages through 2,500 keys in order", keys.len() == 2500 && keys.is_sorted());
    let got = store.get_many(["tour:item:00000", "tour:item:02499", "tour:nothing"])?;
    c.check("get_many", got == [Some(b"0".to_vec()), Some(b"2499".to_vec()), None]);
    c.check("delete_many", store.delete_many(&keys)? == 2500);

    let profile = Profile { name: "ada".into(), langs: vec!["rust".into(), "wit".into()] };
    store.set_json("tour:profile", &profile)?;
    c.check("get_json reads what set_json wrote", store.get_json::<Profile>("tour:profile")? == Some(profile));
    c.check("get_json of another shape is an error", store.get_json::<u32>("tour:profile").is_err());

    store.clear()?;
    c.check("clear", store.keys("").next().is_none());
    Ok(c.0)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let store = match args.first().map(String::as_str) {
        Some("--store") if args.len() > 1 => {
            let id = args.remove(1);
            args.remove(0);
            Store::open(id)
        }
        Some("--store") => usage("--store needs an ID"),
        _ => Store::open_default(),
    };
    let store = store.unwrap_or_else(|e| fail(format!("cannot open the store: {e}")));
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["tour"] => tour(&store).map(|n| println!("kvtour: all {n} checks passed")),
        ["visit"] => store.increment("visits", 1).map(|n| println!("visit {n}")),
        ["keys", prefix] => store.keys(prefix).try_for_each(|k| k.map(|k| println!("{k}"))),
        ["fill", prefix, n] => {
            let n: u32 = n.parse().unwrap_or_else(|_| usage("N must be a whole number"));
            store.set_many((0..n).map(|i| (format!("{prefix}{i:06}"), i.to_string())))
        }
        _ => usage("unknown command"),
    };
    if let Err(e) = result {
        fail(e);
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("kvtour: {msg}\n{USAGE}");
    exit(2)
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("kvtour: {msg}");
    exit(1)
}
