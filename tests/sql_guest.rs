//! The Rust guest against every SQL backend through `kvhost run`, and data
//! that outlives the process that wrote it.

use std::path::Path;

use kvhost::sql::{SqlDatabase, SqlDatabaseConfig as DatabaseConfig};
use kvhost_tests::backend::{connect, mysql_config, postgres_config, runtime, unique_table};
use kvhost_tests::{kvhost, rust_guest, text};

/// A registry with database `app:db` (YAML `db`) and store `app:kv` on `table`.
fn registry(dir: &Path, db: &str, table: &str) -> String {
    registry_with(dir, db, table, "")
}

/// The same, with extra `store.sql` fields.
fn registry_with(dir: &Path, db: &str, table: &str, store_fields: &str) -> String {
    let file = dir.join("registry.yaml");
    let yaml = format!(
        "namespace: app\nentries:\n  - name: db\n{db}\n  - name: kv\n    kind: store.sql\n    database: app:db\n    table_name: {table}\n    cleanup_interval: 1m\n{store_fields}"
    );
    std::fs::write(&file, yaml).unwrap();
    file.display().to_string()
}

const POSTGRES: &str = "    kind: db.sql.postgres\n    host: 127.0.0.1\n    port: 5432\n    database: test\n    username: postgres\n    pool: {max_open: 4, max_idle: 1, max_lifetime: 30m}";
const MYSQL: &str = "    kind: db.sql.mysql\n    host: 127.0.0.1\n    port: 3306\n    database: test\n    username: root\n    password: \"\"\n    options: {charset: utf8mb4}";

/// Drops the table when the test ends, pass or fail.
struct DropTable(Option<DatabaseConfig>, String);

impl Drop for DropTable {
    fn drop(&mut self) {
        if let Some(cfg) = self.0.take() {
            let rt = runtime();
            if let Ok(db) = rt.block_on(SqlDatabase::connect("test:db", &cfg)) {
                let _ = rt.block_on(db.execute_ddl(&[format!("DROP TABLE IF EXISTS {}", cfg.dialect.quote(&self.1))]));
            }
        }
    }
}

fn ok(args: &[&str]) -> String {
    let out = kvhost(args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kvhost {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    stdout
}

/// Apply the schema, run the demo, then write in one process and read in another.
fn guest_round_trip(reg: &str, backend: &str, apply: bool) {
    let guest = rust_guest();
    let g = guest.to_str().unwrap();
    if apply {
        let created = ok(&["schema", "--config", reg, "app:kv", "--apply"]);
        assert!(created.starts_with("created table ") && created.contains("in app:db"), "{created}");
        let again = ok(&["schema", "--config", reg, "app:kv", "--apply"]);
        assert!(again.contains("was already in app:db"), "{again}");
    }
    let run = ["run", "--config", reg, "--default-store", "app:kv"];
    let out = ok(&[&run[..], &[g, "demo"]].concat());
    assert!(out.contains(&format!("store app:kv on {backend} backend")), "{out}");
    assert!(out.contains("all 24 checks passed"), "{out}");
}

fn persists_across_processes(reg: &str) {
    let guest = rust_guest();
    let g = guest.to_str().unwrap();
    let run = ["run", "--config", reg, "--default-store", "app:kv"];
    ok(&[&run[..], &[g, "set", "persisted", "written by process one"]].concat());
    let out = ok(&[&run[..], &[g, "expect", "persisted", "written by process one"]].concat());
    assert!(out.contains("ok: persisted"), "{out}");
}

/// Fail the test, saying how to start it, unless `cfg`'s server answers.
fn require_server(cfg: &DatabaseConfig) {
    connect(&runtime(), cfg);
}

#[test]
fn rust_guest_runs_on_sqlite_file_and_data_survives_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), "    kind: db.sql.sqlite\n    file: kv.db", "kv_store");
    guest_round_trip(&reg, "sqlite", true);
    persists_across_processes(&reg);
    assert!(dir.path().join("kv.db").is_file(), "the file is relative to the YAML file");
}

#[test]
fn rust_guest_runs_on_sqlite_in_memory_without_a_schema_step() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), "    kind: db.sql.sqlite\n    file: \":memory:\"", "kv_store");
    guest_round_trip(&reg, "sqlite", false);
    let out = kvhost(&["schema", "--config", &reg, "app:kv", "--apply"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("kvhost creates its tables at start"), "{:?}", text(&out));
}

#[test]
fn rust_guest_runs_on_postgres_and_data_survives_the_process() {
    require_server(&postgres_config());
    let table = unique_table("kvt_guest");
    let _drop = DropTable(Some(postgres_config()), table.clone());
    let dir = tempfile::tempdir().unwrap();
    // With a version column: `schema --apply` creates it and versions are exact.
    let reg = registry_with(dir.path(), POSTGRES, &table, "    version_column_name: ver\n");
    assert!(ok(&["schema", "--config", &reg, "app:kv"]).contains("\"ver\" BIGINT NOT NULL DEFAULT 0"));
    guest_round_trip(&reg, "postgres", true);
    persists_across_processes(&reg);
}

#[test]
fn rust_guest_runs_on_mariadb() {
    require_server(&mysql_config());
    let table = unique_table("kvt_guest");
    let _drop = DropTable(Some(mysql_config()), table.clone());
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), MYSQL, &table);
    guest_round_trip(&reg, "mysql", true);
    persists_across_processes(&reg);
}

#[test]
fn unreachable_database_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens there.
    let db = "    kind: db.sql.postgres\n    port: 9\n    database: test\n    lifecycle: {start_timeout: 5s}";
    let reg = registry(dir.path(), db, "kv_store");
    let guest = rust_guest();
    let out = kvhost(&["run", "--config", &reg, "--default-store", "app:kv", guest.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out).1;
    assert!(stderr.contains("cannot start app:db"), "{stderr}");
    assert!(stderr.contains("cannot connect to postgres at 127.0.0.1:9, database test, user postgres"), "{stderr}");
}

#[test]
fn missing_table_is_a_start_error_that_says_how_to_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path(), "    kind: db.sql.sqlite\n    file: kv.db", "never_created");
    let guest = rust_guest();
    let out = kvhost(&["run", "--config", &reg, "--default-store", "app:kv", guest.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out).1;
    assert!(stderr.contains("table never_created does not exist in app:db; create it with: kvhost schema --config REGISTRY app:kv --apply"), "{stderr}");
}

#[test]
fn schema_prints_ddl_for_each_dialect() {
    let pg = ok(&["schema", "--dialect", "postgres", "--table", "kv_store"]);
    assert!(pg.contains("CREATE TABLE IF NOT EXISTS \"kv_store\" (\n    \"key\" VARCHAR(255) PRIMARY KEY,\n    \"value\" BYTEA NOT NULL,\n    \"expires_at\" BIGINT\n);"), "{pg}");
    assert!(pg.contains("WHERE \"expires_at\" IS NOT NULL;"), "{pg}");
    let my = ok(&["schema", "--dialect", "mysql", "--table", "kv_store", "--id-column", "k"]);
    assert!(my.contains("`k` VARBINARY(255) NOT NULL PRIMARY KEY") && my.contains("`value` LONGBLOB NOT NULL"), "{my}");
    let lite = ok(&["schema", "--dialect", "sqlite", "--table", "t"]);
    assert!(lite.contains("`value` BLOB NOT NULL"), "{lite}");
    let bad = kvhost(&["schema", "--dialect", "postgres", "--table", "t\"; DROP TABLE x; --"]);
    assert!(!bad.status.success());
    assert!(text(&bad).1.contains("is not a valid identifier"));
}
