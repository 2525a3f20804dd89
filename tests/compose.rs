//! The store as a component: guest-examples/memory-store exports
//! kvhost:store and imports only WASI; a guest composed with it
//! (`wasm-tools compose`) runs under plain `wasmtime run`, without kvhost.

use std::path::{Path, PathBuf};
use std::process::Command;

use kvhost_tests::guests::{Lang, guest};
use kvhost_tests::needs::{Need, require_tool};
use kvhost_tests::{build_rust_guest, rust_guest, text};

/// wasm-tools composes, the wasmtime CLI runs the result.
fn require_tools() {
    require_tool(Need::WasmTools, "wasm-tools");
    require_tool(Need::Wasmtime, "wasmtime");
}

/// `guest` composed with the store component, in `dir`.
fn compose(dir: &Path, store: &Path, guest: &Path) -> PathBuf {
    let out = dir.join(format!("composed-{}", guest.file_name().unwrap().to_str().unwrap()));
    let result =
        Command::new("wasm-tools").arg("compose").arg(guest).arg("-d").arg(store).arg("-o").arg(&out).output().unwrap();
    assert!(result.status.success(), "wasm-tools compose {}: {:?}", guest.display(), text(&result));
    out
}

fn wasmtime_run(wasm: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new("wasmtime").arg("run").arg(wasm).args(args).output().unwrap();
    assert!(out.status.success(), "wasmtime run {}: {:?}", wasm.display(), text(&out));
    text(&out)
}

/// The store component under a kebab-case name, as wasm-tools compose wants.
fn store_component(dir: &Path) -> PathBuf {
    let built = build_rust_guest("memory-store", "kvhost_memory_store");
    let store = dir.join("memory-store.wasm");
    std::fs::copy(built, &store).unwrap();
    let wit = Command::new("wasm-tools").arg("component").arg("wit").arg(&store).output().unwrap();
    let wit = text(&wit).0;
    assert!(wit.contains("export kvhost:store/store@0.1.0;"), "{wit}");
    for line in wit.lines().filter(|l| l.trim_start().starts_with("import ")) {
        assert!(line.contains("import wasi:"), "the store component imports only WASI, not: {line}");
    }
    store
}

#[test]
fn rust_guest_composed_with_the_store_component_runs_under_plain_wasmtime() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let composed = compose(dir.path(), &store_component(dir.path()), &rust_guest());
    let wit = text(&Command::new("wasm-tools").arg("component").arg("wit").arg(&composed).output().unwrap()).0;
    assert!(!wit.contains("import kvhost:"), "composition satisfied every kvhost import:\n{wit}");
    let (stdout, _) = wasmtime_run(&composed, &["demo"]);
    assert!(stdout.contains("store default on memory-component backend"), "{stdout}");
    assert!(stdout.contains("kvdemo: all 24 checks passed"), "{stdout}");
}

#[test]
fn guests_in_every_language_compose_with_the_store_component() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let store = store_component(dir.path());
    for lang in [Lang::C, Lang::JavaScript, Lang::Python] {
        let wasm = guest(lang);
        let (stdout, _) = wasmtime_run(&compose(dir.path(), &store, &wasm), &["demo"]);
        assert!(stdout.contains(&format!("{}: all 10 checks passed", lang.program())), "{}: {stdout}", lang.name());
    }
}
