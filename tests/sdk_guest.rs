//! The guest on the kvhost-guest SDK (`guest-examples/rust-sdk`): every part
//! of the SDK, through `kvhost run`, on a memory store and a SQLite file.

use kvhost_tests::{build_rust_guest, kvhost, text};

fn tour(args: &[&str]) -> String {
    let guest = build_rust_guest("rust-sdk", "kvtour");
    let out = kvhost(&[&["run"], args, &[guest.to_str().unwrap(), "tour"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[test]
fn sdk_guest_passes_its_tour_on_memory() {
    let out = tour(&[]);
    assert!(out.contains("kvtour: store default on memory backend"), "{out}");
    assert!(out.contains("kvtour: all 15 checks passed"), "{out}");
}

#[test]
fn sdk_guest_passes_its_tour_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let registry = kvhost_tests::served::sqlite(dir.path());
    let out = tour(&["--config", &registry, "--default-store", "app:kv"]);
    assert!(out.contains("kvtour: store app:kv on sqlite backend"), "{out}");
    assert!(out.contains("kvtour: all 15 checks passed"), "{out}");
}
