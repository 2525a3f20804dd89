use std::time::Duration;

use super::*;
use crate::memory::MemoryConfig;
use crate::sql::{DatabaseTarget, PoolConfig, SqlDatabaseConfig, SqlStoreConfig, TableNames};

/// Entry `id` of `r`, a store whose backend's fields are a `T`.
#[track_caller]
fn store<'a, T: 'static>(r: &'a Registry, id: &str) -> (&'a StoreEntry, &'a T) {
    let Kind::Store(s) = &r.get(id).expect("declared").kind else { panic!("{id} is not a store") };
    (s, s.config::<T>().unwrap_or_else(|| panic!("{id} is a {}", s.kind.name)))
}

/// Entry `id` of `r`, a SQL database.
#[track_caller]
fn sql_database<'a>(r: &'a Registry, id: &str) -> &'a SqlDatabaseConfig {
    let Kind::Database(d) = &r.get(id).expect("declared").kind else { panic!("{id} is not a database") };
    d.config().unwrap_or_else(|| panic!("{id} is a {}", d.kind.name))
}

fn load(text: &str) -> Result<Registry, RegistryError> {
    Registry::from_yaml("reg.yaml", text)
}

/// Assert that `text` fails with an error naming `entry` and `field`, whose
/// message contains `needle`.
#[track_caller]
fn rejects(text: &str, entry: Option<&str>, field: Option<&str>, needle: &str) {
    let err = load(text).expect_err("registry should be rejected");
    let found = err
        .errors()
        .iter()
        .any(|e| e.entry.as_deref() == entry && e.field.as_deref() == field && e.message.contains(needle));
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
    let (s, m) = store::<MemoryConfig>(&r, "app:sessions");
    assert_eq!(m.max_size, 10_000);
    assert_eq!(s.cleanup_interval, Duration::from_secs(300));
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
    let (s, m) = store::<MemoryConfig>(&r, &e.id);
    assert_eq!((m.max_size, s.limits.max_key_bytes, s.limits.max_value_bytes), (0, 64, 4096));
    assert_eq!(s.cleanup_interval, Duration::from_secs(5400));
    let order: Vec<_> = r.start_order(["app:sessions"]).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order, ["app:base", "app:sessions"]);
}

#[test]
fn substitutes_env_references_in_strings() {
    crate::config::test_env::set("KVHOST_TEST_INTERVAL", "7s");
    let r = load("namespace: app\nentries:\n  - name: s\n    kind: store.memory\n    cleanup_interval: \"${env:KVHOST_TEST_INTERVAL}\"\n").unwrap();
    let (s, _) = store::<MemoryConfig>(&r, "app:s");
    assert_eq!(s.cleanup_interval, Duration::from_secs(7));
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
    std::fs::write(
        dir.path().join("nested/b.yml"),
        "namespace: data\nentries:\n  - name: cache\n    kind: store.memory\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
    // Some tool's YAML, in folders a registry scan passes over.
    for tools in ["node_modules/pkg", ".github/workflows"] {
        std::fs::create_dir_all(dir.path().join(tools)).unwrap();
        std::fs::write(
            dir.path().join(tools).join("x.yml"),
            "name: not a registry
",
        )
        .unwrap();
    }
    let r = Registry::load(&[dir.path()]).unwrap();
    let Kind::Component(c) = &r.get("web:guest").unwrap().kind else { panic!() };
    assert_eq!(c.path, dir.path().join("guest.wasm"));
    assert_eq!(c.stores, [crate::Grant::new("data:cache")]);
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
    rejects(
        &format!("{MEMORY}    max_size: lots\n"),
        Some("app:sessions"),
        Some("max_size"),
        "expected a whole number, got a string",
    );
}

#[test]
fn rejects_fractional_max_size() {
    rejects(&format!("{MEMORY}    max_size: 1.5\n"), Some("app:sessions"), Some("max_size"), "whole number");
}

#[test]
fn rejects_unknown_field_and_lists_known_ones() {
    rejects(
        &format!("{MEMORY}    max_sise: 10\n"),
        Some("app:sessions"),
        Some("max_sise"),
        "unknown field; expected one of: name, kind, meta, lifecycle, max_size",
    );
}

#[test]
fn rejects_unknown_lifecycle_field() {
    rejects(
        &format!("{MEMORY}    lifecycle: {{autostart: true}}\n"),
        Some("app:sessions"),
        Some("lifecycle.autostart"),
        "unknown field",
    );
}

#[test]
fn rejects_bad_duration() {
    rejects(
        &format!("{MEMORY}    cleanup_interval: five minutes\n"),
        Some("app:sessions"),
        Some("cleanup_interval"),
        "not a duration",
    );
}

#[test]
fn rejects_duration_given_as_number() {
    rejects(
        &format!("{MEMORY}    cleanup_interval: 300\n"),
        Some("app:sessions"),
        Some("cleanup_interval"),
        "a duration such as",
    );
}

#[test]
fn rejects_non_boolean_auto_start() {
    rejects(
        &format!("{MEMORY}    lifecycle:\n      auto_start: yes please\n"),
        Some("app:sessions"),
        Some("lifecycle.auto_start"),
        "true or false",
    );
}

#[test]
fn rejects_unknown_kind() {
    rejects(
        "namespace: app\nentries:\n  - {name: c, kind: store.etcd}\n",
        Some("app:c"),
        Some("kind"),
        "unknown kind `store.etcd`; this build knows: store.memory, store.sql, store.redis, db.sql.postgres",
    );
}

/// A kind left out of a build is refused naming the cargo feature that
/// brings it; each of those features exists in this crate and, in the
/// default build, brings its kind.
#[test]
fn every_optional_kind_names_the_feature_that_brings_it() {
    let manifest: toml_features::Features = toml_features::parse(include_str!("../../Cargo.toml"));
    for (kind, features) in crate::backend::OPTIONAL_KINDS {
        for feature in features.split('`').skip(1).step_by(2) {
            assert!(manifest.has(feature), "{kind}: no cargo feature `{feature}` in host/Cargo.toml");
            assert!(manifest.is_default(feature), "{kind}: feature `{feature}` is not a default one");
        }
        assert!(super::kind::kinds().any(|k| k == *kind), "{kind} is not in the default build");
    }
}

#[test]
fn rejects_missing_kind() {
    rejects("namespace: app\nentries:\n  - {name: c}\n", Some("app:c"), Some("kind"), "is required");
}

#[test]
fn rejects_missing_name() {
    rejects(
        "namespace: app\nentries:\n  - {kind: store.memory}\n",
        Some("app:<entries[0]>"),
        Some("name"),
        "is required",
    );
}

#[test]
fn rejects_invalid_name() {
    rejects(
        "namespace: app\nentries:\n  - {name: 'a b', kind: store.memory}\n",
        Some("app:<entries[0]>"),
        Some("name"),
        "not a valid name",
    );
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
    rejects(
        &format!("{MEMORY}    lifecycle: {{requires: [app:nothing]}}\n"),
        Some("app:sessions"),
        Some("lifecycle.requires[0]"),
        "`app:nothing`, which no loaded registry file declares",
    );
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
    rejects(
        &format!("{MEMORY}    lifecycle: {{requires: [app:sessions]}}\n"),
        Some("app:sessions"),
        Some("lifecycle.requires[0]"),
        "dependency cycle",
    );
}

#[test]
fn rejects_duplicate_ids() {
    rejects(
        &format!("{MEMORY}  - name: sessions\n    kind: store.memory\n"),
        Some("app:sessions"),
        Some("name"),
        "duplicate ID",
    );
}

#[test]
fn rejects_missing_env_variable() {
    rejects(
        &format!("{MEMORY}    cleanup_interval: \"${{env:KVHOST_NOT_SET_ANYWHERE}}\"\n"),
        Some("app:sessions"),
        Some("cleanup_interval"),
        "KVHOST_NOT_SET_ANYWHERE is not set",
    );
}

#[test]
fn rejects_component_without_path() {
    rejects(
        "namespace: app\nentries:\n  - {name: g, kind: wasm.component}\n",
        Some("app:g"),
        Some("path"),
        "is required",
    );
}

#[test]
fn rejects_component_file_that_does_not_exist() {
    rejects(
        "namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: missing.wasm}\n",
        Some("app:g"),
        Some("path"),
        "does not exist",
    );
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
    rejects(
        "namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: x.wasm, stores: app:a}\n",
        Some("app:g"),
        Some("path"),
        "does not exist",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let err = Registry::from_yaml(
        dir.path().join("r.yaml"),
        "namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: g.wasm, stores: [1]}\n",
    )
    .unwrap_err();
    assert_eq!(err.errors()[0].field.as_deref(), Some("stores[0]"), "{err}");
}

#[test]
fn rejects_bad_memory_limit_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let err = Registry::from_yaml(
        dir.path().join("r.yaml"),
        "namespace: app\nentries:\n  - {name: g, kind: wasm.component, path: g.wasm, limits: {max_memory: huge}}\n",
    )
    .unwrap_err();
    let e = &err.errors()[0];
    assert_eq!((e.entry.as_deref(), e.field.as_deref()), (Some("app:g"), Some("limits.max_memory")), "{err}");
}

#[test]
fn rejects_entry_that_is_not_a_mapping() {
    rejects(
        "namespace: app\nentries:\n  - just a string\n",
        Some("app:<entries[0]>"),
        None,
        "expected a mapping, got a string",
    );
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

// ---- SQL entries ----

const SQL: &str = "namespace: app\nentries:\n  - name: pg\n    kind: db.sql.postgres\n    database: test\n  - name: kv\n    kind: store.sql\n    database: app:pg\n    table_name: kv_store\n";

#[test]
fn parses_sql_entries_with_defaults() {
    let r = load(SQL).unwrap();
    let db = sql_database(&r, "app:pg");
    assert_eq!(
        db.target,
        DatabaseTarget::Server {
            host: "127.0.0.1".into(),
            port: 5432,
            database: "test".into(),
            username: "postgres".into(),
            password: None
        }
    );
    assert_eq!(db.pool, PoolConfig::default());
    let (s, sql) = store::<SqlStoreConfig>(&r, "app:kv");
    assert_eq!(sql.table, TableNames::new("kv_store"));
    assert_eq!(s.cleanup_interval, Duration::ZERO);
    assert_eq!(s.database.as_deref(), Some("app:pg"));
    let order: Vec<_> = r.start_order(["app:kv"]).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order, ["app:pg", "app:kv"], "the database starts before its store");
}

#[test]
fn parses_every_sql_field() {
    crate::config::test_env::set("KVHOST_TEST_DB_PASSWORD", "p@ss:word");
    let r = load(
        r#"
namespace: app
entries:
  - name: my
    kind: db.sql.mysql
    host: db.internal
    port: 3307
    database: kv
    username: svc
    password: "${env:KVHOST_TEST_DB_PASSWORD}"
    options: {charset: utf8mb4, ssl_mode: disabled}
    pool: {max_open: 20, max_idle: 50, max_lifetime: 30m}
    query_timeout: 1500ms
  - name: lite
    kind: db.sql.sqlite
    file: data/kv.db
  - name: cache
    kind: store.sql
    database: app:my
    table_name: Cache_2
    id_column_name: k
    payload_column_name: v
    expire_column_name: exp
    cleanup_interval: 10m
    max_key_bytes: 100
"#,
    )
    .unwrap();
    let db = sql_database(&r, "app:my");
    let DatabaseTarget::Server { port, password, .. } = &db.target else { panic!() };
    assert_eq!((*port, password.as_deref()), (3307, Some("p@ss:word")));
    assert_eq!(db.options.get("charset").map(String::as_str), Some("utf8mb4"));
    assert_eq!(db.pool, PoolConfig { max_open: 20, max_idle: 20, max_lifetime: Duration::from_secs(1800) });
    assert_eq!(db.query_timeout, Duration::from_millis(1500));
    let lite = sql_database(&r, "app:lite");
    assert_eq!(lite.target, DatabaseTarget::Sqlite { file: Some("data/kv.db".into()) });
    assert_eq!(lite.query_timeout, Duration::from_secs(30), "the default");
    let (s, sql) = store::<SqlStoreConfig>(&r, "app:cache");
    assert_eq!(
        sql.table,
        TableNames {
            table: "Cache_2".into(),
            key: "k".into(),
            value: "v".into(),
            expires_at: "exp".into(),
            version: None
        }
    );
    assert_eq!(s.limits.max_key_bytes, 100);
}

#[test]
fn rejects_a_query_timeout_of_zero_on_sql_databases() {
    rejects(
        "namespace: app\nentries:\n  - {name: pg, kind: db.sql.postgres, database: kv, query_timeout: 0s}\n",
        Some("app:pg"),
        Some("query_timeout"),
        "must be more than 0",
    );
}

#[test]
fn sqlite_memory_has_no_file() {
    let r = load("namespace: a\nentries:\n  - {name: m, kind: db.sql.sqlite, file: \":memory:\"}\n").unwrap();
    let db = sql_database(&r, "a:m");
    assert_eq!(db.target, DatabaseTarget::Sqlite { file: None });
}

#[test]
fn rejects_hostile_table_and_column_names() {
    for (field, value) in [
        ("table_name", "\"kv; DROP TABLE users; --\""),
        ("table_name", "\"kv store\""),
        ("table_name", "1kv"),
        ("id_column_name", "\"key`\""),
        ("payload_column_name", "\"va'lue\""),
        ("expire_column_name", "\"exp)\""),
        ("table_name", "kéy"),
        ("table_name", "a123456789012345678901234567890123456789012345678901234567890123"),
    ] {
        let text = if field == "table_name" {
            SQL.replace("table_name: kv_store", &format!("table_name: {value}"))
        } else {
            format!("{SQL}    {field}: {value}\n")
        };
        rejects(&text, Some("app:kv"), Some(field), "is not a valid SQL identifier");
    }
}

#[test]
fn parses_optional_version_column() {
    let r = load(&format!("{SQL}    version_column_name: ver\n")).unwrap();
    let (_, sql) = store::<SqlStoreConfig>(&r, "app:kv");
    assert_eq!(sql.table.version.as_deref(), Some("ver"));
    rejects(
        &format!("{SQL}    version_column_name: \"v;--\"\n"),
        Some("app:kv"),
        Some("version_column_name"),
        "not a valid SQL identifier",
    );
    rejects(
        &format!("{SQL}    version_column_name: value\n"),
        Some("app:kv"),
        Some("version_column_name"),
        "already the payload_column_name",
    );
}

#[test]
fn rejects_two_columns_with_one_name() {
    rejects(
        &format!("{SQL}    payload_column_name: KEY\n"),
        Some("app:kv"),
        Some("payload_column_name"),
        "already the id_column_name",
    );
}

#[test]
fn rejects_sql_store_without_table() {
    rejects(&SQL.replace("    table_name: kv_store\n", ""), Some("app:kv"), Some("table_name"), "is required");
}

#[test]
fn rejects_sql_store_whose_database_is_not_a_database() {
    rejects(
        "namespace: app\nentries:\n  - {name: mem, kind: store.memory}\n  - {name: kv, kind: store.sql, database: app:mem, table_name: t}\n",
        Some("app:kv"),
        Some("database"),
        "`app:mem` is a store.memory, not a database",
    );
}

#[test]
fn rejects_dangling_database_reference() {
    rejects(
        &SQL.replace("database: app:pg\n", "database: app:nope\n"),
        Some("app:kv"),
        Some("database"),
        "no loaded registry file declares",
    );
}

#[test]
fn rejects_unknown_connection_option() {
    rejects(
        &SQL.replace("database: test\n", "database: test\n    options: {sslmod: require}\n"),
        Some("app:pg"),
        Some("options.sslmod"),
        "accepted: sslmode, sslrootcert, application_name",
    );
}

#[test]
fn rejects_out_of_range_port() {
    rejects(
        &SQL.replace("database: test\n", "database: test\n    port: 70000\n"),
        Some("app:pg"),
        Some("port"),
        "not a TCP port",
    );
}

#[test]
fn rejects_zero_pool_size() {
    rejects(
        &SQL.replace("database: test\n", "database: test\n    pool: {max_open: 0}\n"),
        Some("app:pg"),
        Some("pool.max_open"),
        "at least 1",
    );
}

#[test]
fn rejects_sqlite_without_file_and_server_fields_on_sqlite() {
    rejects("namespace: a\nentries:\n  - {name: l, kind: db.sql.sqlite}\n", Some("a:l"), Some("file"), "is required");
    rejects(
        "namespace: a\nentries:\n  - {name: l, kind: db.sql.sqlite, file: x.db, host: h}\n",
        Some("a:l"),
        Some("host"),
        "unknown field",
    );
}

#[test]
fn rejects_server_database_without_database_name() {
    rejects(
        "namespace: a\nentries:\n  - {name: p, kind: db.sql.postgres}\n",
        Some("a:p"),
        Some("database"),
        "is required",
    );
}

/// Load a registry whose component `app:g` has these extra fields, beside a
/// memory store `app:kv`; the error is asserted to name `app:g` and `field`.
#[track_caller]
fn component_with(fields: &str) -> Result<Registry, RegistryError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let text = format!(
        "namespace: app\nentries:\n  - {{name: kv, kind: store.memory}}\n  - {{name: g, kind: wasm.component, path: g.wasm, {fields}}}\n"
    );
    Registry::from_yaml(dir.path().join("reg.yaml"), &text)
}

#[track_caller]
fn component_rejects(fields: &str, field: &str, needle: &str) {
    let err = component_with(fields).expect_err("registry should be rejected");
    let e = &err.errors()[0];
    assert_eq!((e.entry.as_deref(), e.field.as_deref()), (Some("app:g"), Some(field)), "{err}");
    assert!(e.message.contains(needle), "{err}");
}

#[test]
fn parses_prefix_and_read_only_grants() {
    let r =
        component_with("stores: [{id: app:kv, prefix: \"user:\", access: read}, {id: app:kv, access: write}]").unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    assert_eq!(c.stores, [crate::Grant::new("app:kv").prefix("user:").read_only(), crate::Grant::new("app:kv")]);
}

#[test]
fn parses_aliases_beside_prefix_and_access() {
    let r = component_with(
        "stores: [{id: app:kv, as: in_memory}, {id: app:kv, as: sessions, prefix: \"s:\", access: read}]",
    )
    .unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    assert_eq!(
        c.stores,
        [
            crate::Grant::new("app:kv").alias("in_memory"),
            crate::Grant::new("app:kv").alias("sessions").prefix("s:").read_only()
        ]
    );
}

#[test]
fn rejects_aliases_that_are_empty_default_or_given_twice() {
    component_rejects("stores: [{id: app:kv, as: \"\"}]", "stores[0].as", "must not be empty");
    component_rejects("stores: [{id: app:kv, as: default}]", "stores[0].as", "`default` always names the default");
    component_rejects(
        "stores: [{id: app:kv, as: cache}, {id: app:kv, as: cache}]",
        "stores[1].as",
        "alias `cache` is already given to app:kv",
    );
    let long = "a".repeat(256);
    component_rejects(&format!("stores: [{{id: app:kv, as: {long}}}]"), "stores[0].as", "at most 255 bytes");
}

#[test]
fn rejects_an_alias_that_is_another_granted_stores_id() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let text = "namespace: app\nentries:\n  - {name: kv, kind: store.memory}\n  - {name: other, kind: store.memory}\n  - {name: g, kind: wasm.component, path: g.wasm, stores: [{id: app:kv, as: app:other}], default_store: app:other}\n";
    let err = Registry::from_yaml(dir.path().join("reg.yaml"), text).expect_err("rejected");
    let e = &err.errors()[0];
    assert_eq!((e.entry.as_deref(), e.field.as_deref()), (Some("app:g"), Some("stores[0].as")), "{err}");
    assert!(e.message.contains("is the ID of another granted store (app:other)"), "{err}");
}

#[test]
fn rejects_grant_with_unknown_access() {
    component_rejects("stores: [{id: app:kv, access: admin}]", "stores[0].access", "expected read or write");
}

#[test]
fn rejects_grant_without_id() {
    component_rejects("stores: [{prefix: \"a:\"}]", "stores[0].id", "is required");
}

#[test]
fn rejects_unknown_field_in_grant() {
    component_rejects(
        "stores: [app:kv, {id: app:kv, prefx: \"a:\"}]",
        "stores[1].prefx",
        "expected one of: id, prefix, access, as",
    );
}

#[test]
fn rejects_grant_of_a_missing_store() {
    component_rejects("stores: [{id: app:gone, access: read}]", "stores[0]", "app:gone");
}

#[test]
fn rejects_store_list_that_is_not_a_list() {
    component_rejects("stores: {id: app:kv}", "stores", "expected a list of store IDs, got a mapping");
}

#[test]
fn parses_store_result_and_concurrency_limits() {
    let r = load(&format!("{MEMORY}    max_result_bytes: 1MiB\n    max_concurrency: 8\n    max_value_bytes: 64KiB\n"))
        .unwrap();
    let (s, _) = store::<MemoryConfig>(&r, "app:sessions");
    assert_eq!((s.limits.max_result_bytes, s.limits.max_concurrency, s.limits.max_value_bytes), (1 << 20, 8, 64 << 10));
}

#[test]
fn rejects_result_limit_smaller_than_one_key() {
    rejects(
        &format!("{MEMORY}    max_result_bytes: 100\n"),
        Some("app:sessions"),
        Some("max_result_bytes"),
        "at least one key",
    );
}

#[test]
fn rejects_negative_concurrency_limit() {
    rejects(
        &format!("{MEMORY}    max_concurrency: -4\n"),
        Some("app:sessions"),
        Some("max_concurrency"),
        "must not be negative",
    );
}

// ---- Redis entries ----

const REDIS: &str = "namespace: app\nentries:\n  - {name: redis, kind: db.redis}\n  - {name: cache, kind: store.redis, database: app:redis}\n";

#[test]
fn parses_redis_entries_with_defaults() {
    use crate::redis::{RedisDatabaseConfig, RedisStoreConfig};
    let r = load(REDIS).unwrap();
    let Kind::Database(d) = &r.get("app:redis").unwrap().kind else { panic!() };
    assert_eq!(d.config::<RedisDatabaseConfig>().unwrap(), &RedisDatabaseConfig::local());
    let (s, redis) = store::<RedisStoreConfig>(&r, "app:cache");
    assert_eq!(redis.prefix("app:cache"), "app:cache:", "the store's ID and a colon");
    assert_eq!((s.database.as_deref(), s.cleanup_interval), (Some("app:redis"), Duration::ZERO));
    let order: Vec<_> = r.start_order(["app:cache"]).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order, ["app:redis", "app:cache"]);
}

#[test]
fn parses_every_redis_field() {
    use crate::redis::{RedisDatabaseConfig, RedisStoreConfig};
    let r = load(
        "namespace: app\nentries:\n  - {name: redis, kind: db.redis, host: cache.internal, port: 6380, database: 3, username: svc, password: pw, tls: true, query_timeout: 2s}\n  - {name: cache, kind: store.redis, database: app:redis, key_prefix: \"*[weird]?\\\\\", cleanup_interval: 1m}\n",
    )
    .unwrap();
    let Kind::Database(d) = &r.get("app:redis").unwrap().kind else { panic!() };
    let expected = RedisDatabaseConfig {
        host: "cache.internal".into(),
        port: 6380,
        database: 3,
        username: Some("svc".into()),
        password: Some("pw".into()),
        tls: Some(crate::redis::RedisTls::default()),
        query_timeout: Duration::from_secs(2),
    };
    assert_eq!(d.config::<RedisDatabaseConfig>().unwrap(), &expected);
    let (s, redis) = store::<RedisStoreConfig>(&r, "app:cache");
    assert_eq!(redis.prefix("app:cache"), "*[weird]?\\");
    assert_eq!(s.cleanup_interval, Duration::from_secs(60));
}

#[test]
fn parses_redis_tls_as_a_flag_or_a_mapping() {
    use crate::redis::{RedisDatabaseConfig, RedisTls};
    let tls = |value: &str| {
        let r =
            load(&format!("namespace: app\nentries:\n  - {{name: redis, kind: db.redis, tls: {value}}}\n")).unwrap();
        let Kind::Database(d) = &r.get("app:redis").unwrap().kind else { panic!() };
        d.config::<RedisDatabaseConfig>().unwrap().tls.clone()
    };
    assert_eq!(tls("false"), None);
    assert_eq!(tls("true"), Some(RedisTls::default()));
    assert_eq!(tls("{insecure: true}"), Some(RedisTls { ca_file: None, insecure: true }));
    let with_ca = tls("{ca_file: certs/ca.pem}").unwrap();
    assert_eq!(with_ca.ca_file.as_deref(), Some(std::path::Path::new("certs/ca.pem")), "relative to reg.yaml's folder");
    assert!(!with_ca.insecure);
}

#[test]
fn rejects_malformed_redis_entries_naming_the_field() {
    let db = |fields: &str| format!("namespace: app\nentries:\n  - {{name: redis, kind: db.redis, {fields}}}\n");
    rejects(&db("port: 70000"), Some("app:redis"), Some("port"), "is not a TCP port");
    rejects(&db("port: \"six\""), Some("app:redis"), Some("port"), "expected a whole number");
    rejects(
        &db("tls: maybe"),
        Some("app:redis"),
        Some("tls"),
        "expected true, false or a mapping with ca_file and insecure",
    );
    rejects(
        &db("tls: {ca_flie: ca.pem}"),
        Some("app:redis"),
        Some("tls.ca_flie"),
        "unknown field; expected one of: ca_file, insecure",
    );
    rejects(&db("tls: {ca_file: ca.pem, insecure: true}"), Some("app:redis"), Some("tls.insecure"), "choose one");
    rejects(&db("query_timeout: 0"), Some("app:redis"), Some("query_timeout"), "must be more than 0");
    rejects(&db("query_timeout: soon"), Some("app:redis"), Some("query_timeout"), "");
    rejects(&db("database: -1"), Some("app:redis"), Some("database"), "must not be negative");
    rejects(
        &db("hots: x"),
        Some("app:redis"),
        Some("hots"),
        "unknown field; expected one of: name, kind, meta, lifecycle, host, port",
    );
    let store = |fields: &str| format!("{REDIS}  - {{name: other, kind: store.redis, {fields}}}\n");
    rejects(&store("database: app:nope"), Some("app:other"), Some("database"), "refers to `app:nope`");
    rejects(&store("key_prefix: x"), Some("app:other"), Some("database"), "is required");
    rejects(
        &store("database: app:redis, max_size: 100"),
        Some("app:other"),
        Some("max_size"),
        "a Redis store has no max_size: Redis bounds its memory itself (maxmemory",
    );
    rejects(
        &store("database: app:redis, key_prefix: \"\""),
        Some("app:other"),
        Some("key_prefix"),
        "must not be empty",
    );
    rejects(
        &format!(
            "{REDIS}  - {{name: lite, kind: db.sql.sqlite, file: kv.db}}\n  - {{name: other, kind: store.redis, database: app:lite}}\n"
        ),
        Some("app:other"),
        Some("database"),
        "is a db.sql.sqlite, not a database a store.redis lives in (db.redis)",
    );
}

#[test]
fn rejects_stores_whose_data_would_overlap_in_one_database() {
    rejects(
        &format!("{REDIS}  - {{name: inner, kind: store.redis, database: app:redis, key_prefix: \"app:cache:x:\"}}\n"),
        Some("app:inner"),
        Some("key_prefix"),
        "overlap in one database",
    );
    // Different prefixes, or one prefix in two databases, are fine.
    load(&format!("{REDIS}  - {{name: other, kind: store.redis, database: app:redis, key_prefix: \"app:cachf:\"}}\n"))
        .unwrap();
    rejects(
        &format!("{SQL}  - {{name: twin, kind: store.sql, database: app:pg, table_name: KV_STORE}}\n"),
        Some("app:twin"),
        Some("table_name"),
        "is already app:kv's in the same database",
    );
}

#[test]
fn parses_an_http_component_address() {
    let r = component_with("http: {addr: \"127.0.0.1:8081\"}, stores: [app:kv]").unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    let limits = crate::serve::ServeLimits::default();
    assert_eq!(c.http, Some(crate::registry::HttpConfig { addr: "127.0.0.1:8081".parse().unwrap(), limits }));
    let r = component_with("stores: [app:kv]").unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    assert_eq!(c.http, None, "a component without http is a command");
}

#[test]
fn http_limits_default_to_the_specs_and_take_each_field() {
    let r = component_with("http: {addr: \"127.0.0.1:8081\"}").unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    let limits = c.http.unwrap().limits;
    assert_eq!(limits.header_timeout, Duration::from_secs(10));
    assert_eq!(limits.idle_timeout, Duration::from_secs(60));
    assert_eq!(limits.max_connections, 10_000);
    assert_eq!(limits.max_body, 10 * 1024 * 1024);

    let r = component_with(
        "http: {addr: \"127.0.0.1:8081\", header_timeout: 2s, idle_timeout: 5m, max_connections: 50, max_body: 64KiB}",
    )
    .unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    let limits = c.http.unwrap().limits;
    assert_eq!(
        limits,
        crate::serve::ServeLimits {
            header_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(300),
            max_connections: 50,
            max_body: 64 * 1024,
        }
    );
}

#[test]
fn rejects_http_limits_that_cannot_hold_naming_the_field() {
    let http = |field: &str| format!("http: {{addr: \"127.0.0.1:8081\", {field}}}");
    component_rejects(&http("header_timeout: 0"), "http.header_timeout", "must be more than 0");
    component_rejects(&http("idle_timeout: 0s"), "http.idle_timeout", "must be more than 0");
    component_rejects(&http("header_timeout: soon"), "http.header_timeout", "soon");
    component_rejects(&http("max_connections: 0"), "http.max_connections", "must be at least 1");
    component_rejects(&http("max_connections: -3"), "http.max_connections", "must not be negative");
    component_rejects(&http("max_connections: 5000000000"), "http.max_connections", "too large");
    component_rejects(&http("max_body: lots"), "http.max_body", "lots");
    component_rejects(&http("max_body: [1]"), "http.max_body", "a size such as");
}

#[test]
fn rejects_http_components_naming_the_field() {
    component_rejects("http: {addr: \"localhost\"}", "http.addr", "expected IP:PORT such as 127.0.0.1:8081");
    component_rejects("http: {}", "http.addr", "is required");
    component_rejects("http: {addr: \"127.0.0.1:1\", port: 2}", "http.port", "unknown field");
    component_rejects("http: \"127.0.0.1:8081\"", "http", "expected a mapping");
    component_rejects("http: {addr: \"127.0.0.1:8081\"}, args: [x]", "args", "an HTTP component takes requests");
}

#[test]
fn parses_the_registry_metrics_address() {
    let r = load("namespace: app\nmetrics: {addr: \"127.0.0.1:9090\"}\nentries: []\n").unwrap();
    assert_eq!(r.metrics_addr(), Some("127.0.0.1:9090".parse().unwrap()));
    assert_eq!(load("namespace: app\nentries: []\n").unwrap().metrics_addr(), None);
}

#[test]
fn rejects_a_metrics_address_naming_the_field() {
    rejects("namespace: app\nmetrics: {addr: nowhere}\nentries: []\n", None, Some("metrics.addr"), "expected IP:PORT");
    rejects("namespace: app\nmetrics: {}\nentries: []\n", None, Some("metrics.addr"), "is required");
}

#[test]
fn rejects_two_files_that_serve_metrics_at_different_addresses() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), "namespace: a\nmetrics: {addr: \"127.0.0.1:9090\"}\nentries: []\n")
        .unwrap();
    std::fs::write(dir.path().join("b.yaml"), "namespace: b\nmetrics: {addr: \"127.0.0.1:9091\"}\nentries: []\n")
        .unwrap();
    let err = Registry::load(&[dir.path()]).expect_err("rejected");
    let e = &err.errors()[0];
    assert!(e.file.ends_with("b.yaml") && e.field.as_deref() == Some("metrics.addr"), "{err}");
    assert!(e.message.contains("a.yaml"), "{err}");
}

/// Just enough of host/Cargo.toml's `[features]` table for the test above.
mod toml_features {
    pub(super) struct Features {
        names: Vec<String>,
        default: Vec<String>,
    }

    pub(super) fn parse(manifest: &str) -> Features {
        let table = manifest.split("[features]").nth(1).expect("host/Cargo.toml has [features]");
        let table = table.split("\n[").next().unwrap();
        let mut names = Vec::new();
        let mut default = Vec::new();
        for line in table.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.split_once('=') else { continue };
            let name = name.trim().to_owned();
            if name == "default" {
                default = value.split('"').skip(1).step_by(2).map(str::to_owned).collect();
            }
            names.push(name);
        }
        Features { names, default }
    }

    impl Features {
        pub(super) fn has(&self, feature: &str) -> bool {
            self.names.iter().any(|n| n == feature)
        }

        pub(super) fn is_default(&self, feature: &str) -> bool {
            self.default.iter().any(|n| n == feature)
        }
    }
}

#[test]
fn reports_every_problem_of_an_entry_not_only_the_first() {
    let text = "namespace: app\nentries:\n  - name: guest\n    kind: wasm.component\n    stores: [app:nope]\n    \
                env: [not, a, map]\n    colour: blue\n";
    let err = load(text).expect_err("registry should be rejected");
    let fields: Vec<_> = err.errors().iter().map(|e| (e.entry.as_deref(), e.field.as_deref())).collect();
    for field in ["path", "stores[0]", "env", "colour"] {
        assert!(
            fields.iter().any(|&(e, f)| e == Some("app:guest") && f == Some(field)),
            "no problem of {field} in:\n{err}"
        );
    }
    assert_eq!(err.errors().len(), 4, "{err}");
}

#[test]
fn reports_every_problem_of_a_store_entry() {
    rejects(
        "namespace: app\nentries:\n  - {name: kv, kind: store.sql, max_key_bytes: lots, cleanup_interval: soon}\n",
        Some("app:kv"),
        Some("database"),
        "is required",
    );
    let err = load(
        "namespace: app\nentries:\n  - {name: kv, kind: store.sql, max_key_bytes: lots, cleanup_interval: soon}\n",
    )
    .unwrap_err();
    let fields: Vec<_> = err.errors().iter().filter_map(|e| e.field.as_deref()).collect();
    assert_eq!(fields, ["database", "cleanup_interval", "max_key_bytes", "table_name"], "{err}");
}

#[test]
fn parses_a_watcher_component_with_default_prefix() {
    let r = component_with("stores: [{id: app:kv, prefix: \"a/\", access: read}], watch: [{store: app:kv, prefix: \"a/x\"}, {store: app:kv, prefix: \"a/\"}]")
        .unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    assert!(c.is_watcher());
    assert_eq!(c.watch[0], WatchConfig { store: "app:kv".into(), prefix: "a/x".into() });
    let r = component_with("stores: [app:kv], watch: [{store: app:kv}]").unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    assert_eq!(c.watch, [WatchConfig { store: "app:kv".into(), prefix: String::new() }]);
    let r = component_with("stores: [app:kv]").unwrap();
    let Kind::Component(c) = &r.get("app:g").unwrap().kind else { panic!() };
    assert!(!c.is_watcher(), "a component without watch is a command");
}

#[test]
fn a_watcher_may_watch_its_default_store_and_a_store_by_alias() {
    assert!(component_with("default_store: app:kv, watch: [{store: app:kv}]").is_ok());
    assert!(component_with("stores: [{id: app:kv, as: cache}], watch: [{store: cache, prefix: p}]").is_ok());
}

#[test]
fn refuses_a_watch_outside_the_components_grant_naming_watch() {
    component_rejects(
        "stores: [{id: app:kv, prefix: \"a/\"}], watch: [{store: app:kv, prefix: \"b/\"}]",
        "watch[0]",
        "store app:kv with prefix \"b/\" is outside the component's grant (keys starting with \"a/\")",
    );
    // The whole store is wider than the grant too.
    component_rejects(
        "stores: [{id: app:kv, prefix: \"a/\"}], watch: [{store: app:kv}]",
        "watch[0]",
        "is outside the component's grant",
    );
    component_rejects("watch: [{store: app:kv}]", "watch[0]", "store app:kv is not granted to this component");
}

#[test]
fn refuses_malformed_watch_fields_naming_them() {
    component_rejects("stores: [app:kv], watch: app:kv", "watch", "expected a list of {store, prefix}");
    component_rejects("stores: [app:kv], watch: [app:kv]", "watch[0]", "expected {store, prefix}");
    component_rejects("stores: [app:kv], watch: [{prefix: a}]", "watch[0].store", "is required");
    component_rejects("stores: [app:kv], watch: [{store: app:kv, keys: a}]", "watch[0].keys", "unknown field");
    component_rejects(
        "stores: [app:kv], watch: [{store: app:kv}], http: {addr: \"127.0.0.1:8081\"}",
        "watch",
        "either serves HTTP or watches stores",
    );
    component_rejects(
        "stores: [app:kv], watch: [{store: app:kv}], args: [x]",
        "args",
        "a watcher is called per change",
    );
}

#[test]
fn a_component_may_require_a_watcher() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.wasm"), b"").unwrap();
    let text = "namespace: app\nentries:\n  - {name: kv, kind: store.memory}\n  \
                - {name: audit, kind: wasm.component, path: g.wasm, stores: [app:kv], watch: [{store: app:kv}]}\n  \
                - {name: job, kind: wasm.component, path: g.wasm, stores: [app:kv], lifecycle: {auto_start: true, requires: [app:audit]}}\n";
    let r = Registry::from_yaml(dir.path().join("reg.yaml"), text).unwrap();
    let order: Vec<&str> = r.start_order(["app:job"]).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order, ["app:kv", "app:audit", "app:job"]);
}
