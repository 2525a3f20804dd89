use std::time::Duration;

use super::*;

fn load(text: &str) -> Result<Registry, RegistryError> {
    Registry::from_yaml("reg.yaml", text)
}

/// Assert that `text` fails with an error naming `entry` and `field`, whose
/// message contains `needle`.
#[track_caller]
fn rejects(text: &str, entry: Option<&str>, field: Option<&str>, needle: &str) {
    let err = load(text).expect_err("registry should be rejected");
    let found = err.errors().iter().any(|e| {
        e.entry.as_deref() == entry && e.field.as_deref() == field && e.message.contains(needle)
    });
    assert!(found, "no error with entry {entry:?}, field {field:?}, containing {needle:?} in:\n{err}");
    for e in err.errors() {
        let shown = e.to_string();
        assert!(shown.starts_with("reg.yaml"), "{shown}");
        if let Some(entry) = &e.entry {
            assert!(shown.contains(entry.as_str()), "{shown}");
        }
    }
}

const MEMORY: &str = "namespace: app\nentries:\n  - name: sessions\n    kind: store.memory\n";

#[test]
fn parses_memory_store_with_defaults() {
    let r = load(MEMORY).unwrap();
    let e = r.get("app:sessions").unwrap();
    assert_eq!(e.lifecycle, Lifecycle::default());
    let Kind::MemoryStore(m) = &e.kind else { panic!("{e:?}") };
    assert_eq!(m.max_size, 10_000);
    assert_eq!(m.cleanup_interval, Duration::from_secs(300));
}

#[test]
fn parses_every_memory_and_lifecycle_field() {
    let r = load(
        r#"
version: "1.0"
namespace: app
entries:
  - name: base
    kind: store.memory
  - name: sessions
    kind: store.memory
    meta: {owner: team-a, anything: [1, 2]}
    max_size: 0
    cleanup_interval: "1h30m"
    max_key_bytes: 64
    max_value_bytes: 4096
    lifecycle:
      auto_start: true
      requires: [app:base]
      start_timeout: 250ms
      stop_timeout: "0"
"#,
    )
    .unwrap();
    let e = r.get("app:sessions").unwrap();
    assert!(e.lifecycle.auto_start);
    assert_eq!(e.lifecycle.requires, ["app:base"]);
    assert_eq!(e.lifecycle.start_timeout, Duration::from_millis(250));
    assert_eq!(e.lifecycle.stop_timeout, Duration::ZERO);
    let Kind::MemoryStore(m) = &e.kind else { panic!() };
    assert_eq!((m.max_size, m.limits.max_key_bytes, m.limits.max_value_bytes), (0, 64, 4096));
    assert_eq!(m.cleanup_interval, Duration::from_secs(5400));
    let order: Vec<_> = r.start_order(["app:sessions"]).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order, ["app:base", "app:sessions"]);
}

#[test]
fn substitutes_env_references_in_strings() {
    // SAFETY: no other test reads this variable.
    unsafe { std::env::set_var("KVHOST_TEST_INTERVAL", "7s") };
    let r = load("namespace: app\nentries:\n  - name: s\n    kind: store.memory\n    cleanup_interval: \"${env:KVHOST_TEST_INTERVAL}\"\n").unwrap();
    let Kind::MemoryStore(m) = &r.get("app:s").unwrap().kind else { panic!() };
    assert_eq!(m.cleanup_interval, Duration::from_secs(7));
}

#[test]
fn loads_folders_recursively_and_resolves_references_across_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(dir.path().join("guest.wasm"), b"\0asm").unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "namespace: web\nentries:\n  - name: guest\n    kind: wasm.component\n    path: guest.wasm\n    stores: [data:cache]\n    default_store: data:cache\n    args: [--verbose]\n    env: {MODE: test, N: 3}\n    limits: {max_memory: 64MiB, timeout: 30s}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("nested/b.yml"), "namespace: data\nentries:\n  - name: cache\n    kind: store.memory\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
    let r = Registry::load(&[dir.path()]).unwrap();
    let Kind::Component(c) = &r.get("web:guest").unwrap().kind else { panic!() };
    assert_eq!(c.path, dir.path().join("guest.wasm"));
    assert_eq!(c.stores, ["data:cache"]);
    assert_eq!(c.default_store.as_deref(), Some("data:cache"));
    assert_eq!(c.env.get("N").map(String::as_str), Some("3"));
    assert_eq!(c.limits.max_memory, Some(64 << 20));
    assert_eq!(c.limits.timeout, Some(Duration::from_secs(30)));
    let order: Vec<_> = r.start_order(["web:guest"]).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order, ["data:cache", "web:guest"]);
}

#[test]
fn reports_errors_from_several_entries_at_once() {
    let err = load("namespace: app\nentries:\n  - {name: a, kind: store.memory, max_size: -1}\n  - {name: b, kind: store.memory, colour: red}\n").unwrap_err();
    assert_eq!(err.errors().len(), 2, "{err}");
}

// ---- malformed registries: each names the entry and the field ----

#[test]
fn rejects_negative_max_size() {
    rejects(&format!("{MEMORY}    max_size: -1\n"), Some("app:sessions"), Some("max_size"), "must not be negative");
}

#[test]
fn rejects_max_size_of_wrong_type() {
    rejects(&format!("{MEMORY}    max_size: lots\n"), Some("app:sessions"), Some("max_size"), "expected a whole number, got a string");
}

#[test]
fn rejects_fractional_max_size() {
    rejects(&format!("{MEMORY}    max_size: 1.5\n"), Some("app:sessions"), Some("max_size"), "whole number");
}

#[test]
fn rejects_unknown_field_and_lists_known_ones() {
    rejects(&format!("{MEMORY}    max_sise: 10\n"), Some("app:sessions"), Some("max_sise"), "unknown field; expected one of: name, kind, meta, lifecycle, max_size");
}

#[test]
fn rejects_unknown_lifecycle_field() {
    rejects(&format!("{MEMORY}    lifecycle: {{autostart: true}}\n"), Some("app:sessions"), Some("lifecycle.autostart"), "unknown field");
}

#[test]
fn rejects_bad_duration() {
    rejects(&format!("{MEMORY}    cleanup_interval: five minutes\n"), Some("app:sessions"), Some("cleanup_interval"), "not a duration");
}

#[test]
fn rejects_duration_given_as_number() {
    rejects(&format!("{MEMORY}    cleanup_interval: 300\n"), Some("app:sessions"), Some("cleanup_interval"), "a duration such as");
}

#[test]
fn rejects_non_boolean_auto_start() {
    rejects(&format!("{MEMORY}    lifecycle:\n      auto_start: yes please\n"), Some("app:sessions"), Some("lifecycle.auto_start"), "true or false");
}

#[test]
fn rejects_unknown_kind() {
    rejects("namespace: app\nentries:\n  - {name: c, kind: store.redis}\n", Some("app:c"), Some("kind"), "unknown kind `store.redis`; this build knows: store.memory");
}

#[test]
fn rejects_missing_kind() {
    rejects("namespace: app\nentries:\n  - {name: c}\n", Some("app:c"), Some("kind"), "is required");
}

#[test]
fn rejects_missing_name() {
    rejects("namespace: app\nentries:\n  - {kind: store.memory}\n", Some("app:<entries[0]>"), Some("name"), "is required");
}

#[test]
fn rejects_invalid_name() {
    rejects("namespace: app\nentries:\n  - {name: 'a b', kind: store.memory}\n", Some("app:<entries[0]>"), Some("name"), "not a valid name");
}

#[test]
fn rejects_missing_namespace() {
    rejects("entries: []\n", None, Some("namespace"), "is required");
}

#[test]
fn rejects_unknown_top_level_field() {
    rejects("namespace: app\nentries: []\nentires: []\n", None, Some("entires"), "unknown field");
}

#[test]
fn rejects_entries_that_are_not_a_list() {
    rejects("namespace: app\nentries: {a: 1}\n", None, Some("entries"), "expected a list, got a mapping");
}

#[test]
fn rejects_unsupported_version() {
    rejects("version: \"2.0\"\nnamespace: app\nentries: []\n", None, Some("version"), "unsupported version");
}

#[test]
fn rejects_invalid_yaml_with_its_position() {
    rejects("namespace: app\nentries: [\n", None, None, "not valid YAML");
}

#[test]
fn rejects_dangling_requires() {
    rejects(&format!("{MEMORY}    lifecycle: {{requires: [app:nothing]}}\n"), Some("app:sessions"), Some("lifecycle.requires[0]"), "`app:nothing`, which no loaded registry file declares");
}

#[test]
fn rejects_reference_without_namespace_with_a_hint() {
    rejects(
        "namespace: app\nentries:\n  - {name: a, kind: store.memory}\n  - {name: b, kind: store.memory, lifecycle: {requires: [a]}}\n",
        Some("app:b"),
        Some("lifecycle.requires[0]"),
        "did you mean `app:a`?",
    );
}

#[test]
fn rejects_dependency_cycle_naming_the_path() {
    rejects(
        "namespace: app\nentries:\n  - {name: a, kind: store.memory, lifecycle: {requires: [app:b]}}\n  - {name: b, kind: store.memory, lifecycle: {requires: [app:a]}}\n",
        Some("app:b"),
        Some("lifecycle.requires[0]"),
        "dependency cycle: app:a -> app:b -> app:a",
    );
}

#[test]
fn rejects_self_reference_as_cycle() {
    rejects(&format!("{MEMORY}    lifecycle: {{requires: [app:sessions]}}\n"), Some("app:sessions"), Some("lifecycle.requires[0]"), "dependency cycle");
}

#[test]
fn rejects_duplicate_ids() {
    rejects(&format!("{MEMORY}  - name: sessions\n    kind: store.memory\n"), Some("app:sessions"), Some("name"), "duplicate ID");
}

#[test]
fn rejects_missing_env_variable() {
    rejects(&format!("{MEMORY}    cleanup_interval: \"${{env:KVHOST_NOT_SET_ANYWHERE}}\"\n"), Some("app:sessions"), Some("cleanup_interval"), "KVHOST_NOT_SET_ANYWHERE is not set");
}

#[test]
fn rejects_component_without_path() {
    rejects("namespace: app\nentries:\n  - {name: g, kind: wasm.component}\n", Some("app:g"), Some("path"), "is required");
}

#[test]
fn rejects_component_file_that_does_not_exist() {
    rejects("namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: missing.wasm}\n", Some("app:g"), Some("path"), "does not exist");
}

#[test]
fn rejects_component_granted_a_non_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let file = dir.path().join("reg.yaml");
    let text = "namespace: app\nentries:\n  - {name: other, kind: wasm.component, path: g.wasm}\n  - {name: g, kind: wasm.component, path: g.wasm, stores: [app:other]}\n";
    let err = Registry::from_yaml(&file, text).unwrap_err();
    let e = &err.errors()[0];
    assert_eq!((e.entry.as_deref(), e.field.as_deref()), (Some("app:g"), Some("stores[0]")));
    assert!(e.message.contains("is a wasm.component, not a store"), "{e}");
}

#[test]
fn rejects_wrong_type_in_store_list() {
    rejects("namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: x.wasm, stores: app:a}\n", Some("app:g"), Some("path"), "does not exist");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let err = Registry::from_yaml(dir.path().join("r.yaml"), "namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: g.wasm, stores: [1]}\n").unwrap_err();
    assert_eq!(err.errors()[0].field.as_deref(), Some("stores[0]"), "{err}");
}

#[test]
fn rejects_bad_memory_limit_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let err = Registry::from_yaml(dir.path().join("r.yaml"), "namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: g.wasm, limits: {max_memory: huge}}\n").unwrap_err();
    let e = &err.errors()[0];
    assert_eq!((e.entry.as_deref(), e.field.as_deref()), (Some("app:g"), Some("limits.max_memory")), "{err}");
}

#[test]
fn rejects_entry_that_is_not_a_mapping() {
    rejects("namespace: app\nentries:\n  - just a string\n", Some("app:<entries[0]>"), None, "expected a mapping, got a string");
}

#[test]
fn rejects_zero_max_key_bytes() {
    rejects(&format!("{MEMORY}    max_key_bytes: 0\n"), Some("app:sessions"), Some("max_key_bytes"), "at least 1");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = Registry::load(&["/nonexistent/kvhost.yaml"]).unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent/kvhost.yaml: cannot read"), "{err}");
}

#[test]
fn valid_entries_are_still_checked_when_a_sibling_is_malformed() {
    let err = load("namespace: app\nentries:\n  - {name: bad, kind: store.memory, max_size: -1}\n  - {name: ok, kind: store.memory, lifecycle: {requires: [app:gone, app:bad]}}\n").unwrap_err();
    let fields: Vec<_> = err.errors().iter().map(|e| (e.entry.as_deref(), e.field.as_deref())).collect();
    assert_eq!(
        fields,
        [(Some("app:bad"), Some("max_size")), (Some("app:ok"), Some("lifecycle.requires[0]"))],
        "a reference to a malformed entry is not reported as dangling:\n{err}"
    );
}
