//! PostgreSQL restarted (`pg_ctlcluster restart`) under two kvhost processes
//! whose guests keep writing: the guests see `unavailable` while it is down,
//! the pool reconnects by itself, and every write a guest saw succeed is in
//! the table afterwards.
//!
//! It restarts the server every other SQL test uses, so it is `#[ignore]`d in
//! the main run and run alone by scripts/test.sh afterwards.

use std::sync::Arc;

use kvhost::clock::SystemClock;
use kvhost::sql::{SqlStore, TableNames};
use kvhost::{Limits, Store, Wait};
use kvhost_tests::backend::{connect, postgres_config, runtime, unique_table};
use kvhost_tests::restart::restart_postgres;
use kvhost_tests::writers::write_through_fault;

/// Writes each guest must get acknowledged.
const WRITES: u64 = 4000;
/// Acknowledged writes of the first guest before the restart.
const RESTART_AFTER: u64 = 500;

#[test]
#[ignore = "restarts PostgreSQL: scripts/test.sh runs it alone, after the main suite"]
fn acknowledged_writes_survive_a_postgres_restart_and_writers_recover() {
    let rt = runtime();
    let cfg = postgres_config();
    let db = connect(&rt, &cfg);
    let table = unique_table("kv_restart");
    let names = TableNames::new(table.as_str());
    rt.block_on(db.execute_ddl(&cfg.dialect.schema(&names, Limits::DEFAULT_MAX_KEY_BYTES))).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("registry.yaml");
    std::fs::write(
        &reg,
        format!(
            "namespace: app\nentries:\n  - {{name: pg, kind: db.sql.postgres, host: 127.0.0.1, port: 5432, database: test, username: postgres}}\n  - {{name: kv, kind: store.sql, database: app:pg, table_name: {table}}}\n"
        ),
    )
    .unwrap();

    let results = write_through_fault(&reg, WRITES, RESTART_AFTER, restart_postgres);

    // Every acknowledged write is there, checked key by key on a fresh pool:
    // the old one's connections died with the server.
    rt.block_on(db.close());
    let db = connect(&rt, &cfg);
    let store = rt.block_on(SqlStore::open("app:kv", db.clone(), &names, Arc::new(SystemClock))).unwrap();
    let (mut total_acked, mut total_errors, mut total_found) = (0, 0, 0);
    for (prefix, seen) in &results {
        let keys: Vec<String> = seen.acked.iter().map(|i| format!("{prefix}{i}")).collect();
        let found = store.get_many(&keys).wait().unwrap();
        let missing: Vec<&String> = keys.iter().zip(&found).filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
        assert!(
            missing.is_empty(),
            "writer {prefix}: {} acknowledged writes lost, first {:?}",
            missing.len(),
            missing.first()
        );
        let stored = store.list(prefix, None, usize::MAX).wait().unwrap().len();
        assert!(stored as u64 >= WRITES, "writer {prefix}: {stored} rows for {WRITES} acknowledged writes");
        total_acked += seen.acked.len();
        total_errors += seen.errors.len();
        total_found += stored;
    }
    // Writes were acknowledged again after the outage: the pool reconnected.
    assert!(results[0].1.acked_after_outage().next().is_some(), "no write succeeded after the outage");
    println!(
        "faults injected: 1 PostgreSQL restart; writes acknowledged: {total_acked}; refused as unavailable: {total_errors}; rows found: {total_found}"
    );
    for (prefix, seen) in &results {
        println!("  writer {prefix} first errors: {:?}", seen.errors.iter().take(3).collect::<Vec<_>>());
    }
    rt.block_on(db.execute_ddl(&[format!("DROP TABLE {}", cfg.dialect.quote(&table))])).unwrap();
    rt.block_on(db.close());
}
