//! Faults: a kvhost killed with SIGKILL in the middle of SQLite writes loses
//! no write it acknowledged (WAL, synchronous=NORMAL).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use kvhost::registry::{DatabaseConfig, DatabaseTarget, PoolConfig, TableNames};
use kvhost::sql::{Dialect, SqlDatabase, SqlStore};
use kvhost::{Limits, Store, SystemClock};
use kvhost_tests::backend::runtime;
use kvhost_tests::{kvhost, kvhost_bin, rust_guest, text};

#[test]
fn acknowledged_sqlite_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("registry.yaml");
    std::fs::write(
        &reg,
        "namespace: app\nentries:\n  - {name: db, kind: db.sql.sqlite, file: kv.db}\n  - {name: kv, kind: store.sql, database: app:db, table_name: kv_store}\n",
    )
    .unwrap();
    let reg = reg.to_str().unwrap();
    let out = kvhost(&["schema", "--config", reg, "app:kv", "--apply"]);
    assert!(out.status.success(), "{:?}", text(&out));

    let guest = rust_guest();
    let mut child = Command::new(kvhost_bin())
        .args(["run", "--config", reg, "--default-store", "app:kv", guest.to_str().unwrap(), "fill-ack", "k", "1000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: Option<u64> = None;
    // Kill it mid-stream, once a good number of writes are acknowledged.
    for line in lines.by_ref() {
        let n: u64 = line.unwrap().strip_prefix("ack ").unwrap().parse().unwrap();
        acked = Some(n);
        if n >= 2_000 {
            child.kill().unwrap(); // SIGKILL
            break;
        }
    }
    // Acknowledgements already in the pipe count too.
    for line in lines {
        match line.ok().and_then(|l| l.strip_prefix("ack ").and_then(|n| n.parse().ok())) {
            Some(n) => acked = Some(n),
            None => break,
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "kvhost was killed, not finished");
    let acked = acked.expect("some writes were acknowledged");

    let rt = runtime();
    let cfg = DatabaseConfig {
        dialect: Dialect::Sqlite,
        target: DatabaseTarget::Sqlite { file: Some(dir.path().join("kv.db")) },
        options: Default::default(),
        pool: PoolConfig::default(),
    };
    let db = Arc::new(rt.block_on(SqlDatabase::connect("app:db", &cfg)).unwrap());
    let store = rt
        .block_on(SqlStore::open("app:kv", db.clone(), &TableNames::new("kv_store"), Limits::default(), Arc::new(SystemClock)))
        .unwrap();
    let keys: Vec<String> = (0..=acked).map(|i| format!("k{i}")).collect();
    let found = store.get_many(&keys).unwrap();
    let missing: Vec<&String> = keys.iter().zip(&found).filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
    println!("writes acknowledged: {}, found after reopen: {}", acked + 1, found.iter().flatten().count());
    assert!(missing.is_empty(), "{} acknowledged writes lost, first {:?}", missing.len(), missing.first());
    assert_eq!(found[acked as usize].as_deref(), Some(format!("value {acked}").as_bytes()));
    rt.block_on(db.close());
}
