//! Faults: guests that trap, spin or hoard memory are stopped with a message
//! that says why while their neighbours carry on, and a kvhost killed with
//! SIGKILL in the middle of SQLite writes loses no write it acknowledged (WAL,
//! synchronous=NORMAL).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use kvhost::clock::SystemClock;
use kvhost::sql::{
    DatabaseTarget, Dialect, PoolConfig, SqlDatabase, SqlDatabaseConfig as DatabaseConfig, SqlStore, TableNames,
};
use kvhost::{Store, Wait};
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
        .args([
            "run",
            "--config",
            reg,
            "--default-store",
            "app:kv",
            guest.to_str().unwrap(),
            "fill-ack",
            "k",
            "1000000",
        ])
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
        query_timeout: std::time::Duration::from_secs(30),
    };
    let db = Arc::new(rt.block_on(SqlDatabase::connect("app:db", &cfg)).unwrap());
    let store =
        rt.block_on(SqlStore::open("app:kv", db.clone(), &TableNames::new("kv_store"), Arc::new(SystemClock))).unwrap();
    let keys: Vec<String> = (0..=acked).map(|i| format!("k{i}")).collect();
    let found = store.get_many(&keys).wait().unwrap();
    let missing: Vec<&String> = keys.iter().zip(&found).filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect();
    println!("writes acknowledged: {}, found after reopen: {}", acked + 1, found.iter().flatten().count());
    assert!(missing.is_empty(), "{} acknowledged writes lost, first {:?}", missing.len(), missing.first());
    assert_eq!(found[acked as usize].as_deref(), Some(format!("value {acked}").as_bytes()));
    rt.block_on(db.close());
}

#[test]
fn trapping_spinning_and_hoarding_guests_are_stopped_and_their_neighbours_finish() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("registry.yaml");
    let guest = rust_guest();
    let component = |name: &str, args: &str, limits: &str| {
        format!(
            "  - {{name: {name}, kind: wasm.component, path: {}, default_store: app:kv, args: [{args}], limits: {{{limits}}}, lifecycle: {{auto_start: true}}}}\n",
            guest.display()
        )
    };
    let yaml = [
        "namespace: app\nentries:\n".to_owned(),
        "  - {name: db, kind: db.sql.sqlite, file: kv.db}\n".to_owned(),
        "  - {name: kv, kind: store.sql, database: app:db, table_name: kv_store}\n".to_owned(),
        component("trap", "trap", ""),
        component("spin", "spin", "timeout: 300ms"),
        component("alloc", "alloc", "max_memory: 32MiB"),
        component("good", "fill-ack, \"good:\", \"500\"", "timeout: 60s"),
    ]
    .concat();
    std::fs::write(&reg, yaml).unwrap();
    let reg = reg.to_str().unwrap();
    let out = kvhost(&["schema", "--config", reg, "app:kv", "--apply"]);
    assert!(out.status.success(), "{:?}", text(&out));

    let out = kvhost(&["run", "--config", reg]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "three components failed, so kvhost run fails:\n{stderr}");
    let line = |id: &str| {
        stderr
            .lines()
            .find(|l| l.starts_with(&format!("component app:{id} failed")))
            .unwrap_or_else(|| panic!("no failure reported for app:{id}:\n{stderr}"))
            .to_owned()
    };
    assert!(line("trap").contains("unreachable"), "{}", line("trap"));
    assert!(line("spin").contains("exceeded its time limit of 300ms (limits.timeout)"), "{}", line("spin"));
    assert!(
        line("alloc").contains("ran out of memory") && line("alloc").contains("limits.max_memory of 33554432 bytes"),
        "{}",
        line("alloc")
    );
    assert!(!stderr.contains("component app:good"), "the good guest finished cleanly:\n{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ack ")).count(), 500, "{stdout}");
    println!("faults injected: 3 (trap, spin, alloc); good guest acknowledged 500 writes");

    // A fresh process finds what every guest wrote before it failed, and
    // all 500 acknowledged writes of the good one, intact.
    let check = |args: &[&str]| {
        let mut full = vec!["run", "--config", reg, "--default-store", "app:kv", guest.to_str().unwrap()];
        full.extend(args);
        let out = kvhost(&full);
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
        text(&out).0
    };
    for how in ["trap", "spin", "alloc"] {
        check(&["expect", &format!("{how}:before"), "1"]);
    }
    let listed = check(&["list", "good:"]);
    assert_eq!(listed.lines().filter(|l| l.starts_with("good:")).count(), 500, "{listed}");
    check(&["expect", "good:499", "value 499"]);
}
