//! An embedder whose service runs on a current-thread tokio runtime: a SQL
//! store, kvhost's async linker (through `GuestRunner`), a real guest, and
//! the embedder's own calls, all on one thread.

use kvhost::guest::{GuestLimits, GuestRun, GuestRunner, Stdio};
use kvhost::registry::Registry;
use kvhost::sql::{Dialect, SqlDatabase, TableNames};
use kvhost::{Host, KvCtx, Limits};
use kvhost_tests::backend::{server_need, unique_table};
use kvhost_tests::needs;
use kvhost_tests::{rust_guest, stdout_ok};

/// Start `db` (a `db.sql.*` entry body) and a `store.sql` on a fresh table,
/// run the guest on it and read what it wrote, on a current-thread runtime.
fn guest_and_embedder_share_a_sql_store(db: &str, dialect: Dialect) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert_eq!(rt.handle().runtime_flavor(), tokio::runtime::RuntimeFlavor::CurrentThread);
    let dir = tempfile::tempdir().unwrap();
    let table = unique_table("kvt_embed");
    let yaml = format!(
        "namespace: app\nentries:\n  - name: db\n{db}\n  - {{name: kv, kind: store.sql, database: app:db, table_name: {table}}}\n"
    );
    let registry = Registry::from_yaml(dir.path().join("registry.yaml"), &yaml).unwrap();
    rt.block_on(async {
        let host = Host::new(registry);
        let need = server_need(dialect);
        needs::check(need);
        if let Err(e) = host.start(&["app:db".to_owned()]).await {
            needs::failed(need, format!("{e:#}"));
        }
        let sql = host.database::<SqlDatabase>("app:db").unwrap();
        let names = TableNames::new(table.as_str());
        sql.execute_ddl(&dialect.schema(&names, Limits::DEFAULT_MAX_KEY_BYTES)).await.unwrap();
        host.start(&["app:kv".to_owned()]).await.unwrap();

        let runner = GuestRunner::new().unwrap();
        let component = runner.load(&rust_guest()).unwrap();
        let kv = KvCtx::builder(host.catalog().clone()).default_store("app:kv").build();
        let run = |args: &[&str]| GuestRun {
            name: "kvdemo".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            kv: kv.clone(),
            limits: GuestLimits::default(),
            stdio: Stdio::Capture,
        };
        let out = stdout_ok(&runner.run(&component, run(&["demo"])).await.unwrap());
        assert!(out.contains(&format!("store app:kv on {} backend", dialect.name())), "{out}");
        assert!(out.contains("all 24 checks passed"), "{out}");

        // What the guest writes, the embedder reads through its own bucket,
        // and the other way round.
        stdout_ok(&runner.run(&component, run(&["set", "from-guest", "hello"])).await.unwrap());
        let bucket = kv.open("").unwrap();
        assert_eq!(bucket.get("from-guest").await.unwrap().as_deref(), Some(&b"hello"[..]));
        bucket.set("from-embedder", b"hi", None).await.unwrap();
        stdout_ok(&runner.run(&component, run(&["expect", "from-embedder", "hi"])).await.unwrap());

        sql.execute_ddl(&[format!("DROP TABLE {}", dialect.quote(&table))]).await.unwrap();
        host.shutdown().await;
    });
}

#[test]
fn an_embedder_on_a_current_thread_runtime_runs_guests_on_sqlite() {
    guest_and_embedder_share_a_sql_store("    kind: db.sql.sqlite\n    file: kv.db", Dialect::Sqlite);
}

#[test]
fn an_embedder_on_a_current_thread_runtime_runs_guests_on_postgres() {
    let db = "    kind: db.sql.postgres\n    database: test\n    lifecycle: {start_timeout: 5s}";
    guest_and_embedder_share_a_sql_store(db, Dialect::Postgres);
}
