//! Restarting the machine's PostgreSQL, MariaDB and Redis under a test, for
//! the restart tests that scripts/test.sh runs alone, one at a time.

use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use kvhost::clock::SystemClock;
use kvhost::sql::{SqlDatabaseConfig, SqlStore, TableNames};
use kvhost::{Limits, Store, Wait};

use crate::backend::{connect, runtime, unique_table};
use crate::writers::write_through_fault;

/// Restart the machine's PostgreSQL cluster (`pg_ctlcluster restart`).
pub fn restart_postgres() {
    let versions = std::fs::read_dir("/etc/postgresql").expect("PostgreSQL's /etc/postgresql");
    let version = versions.flatten().next().expect("a PostgreSQL cluster").file_name();
    let version = version.to_str().unwrap();
    let out = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, "main", "restart"])
        .output()
        .expect("pg_ctlcluster");
    assert!(out.status.success(), "pg_ctlcluster restart failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Whether the machine's MariaDB answers on 127.0.0.1:3306.
fn mariadb_up() -> bool {
    Command::new("mysqladmin")
        .args(["-h", "127.0.0.1", "-P", "3306", "-uroot", "status"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Whether a `mariadbd` process exists.
fn mariadbd_running() -> bool {
    Command::new("pgrep").args(["-x", "mariadbd"]).output().is_ok_and(|out| out.status.success())
}

/// Shut MariaDB down (`mysqladmin shutdown`, which waits for the server to
/// stop) and start it again the way .ci/services.sh does.
pub fn restart_mariadb() {
    let out = Command::new("mysqladmin")
        .args(["-h", "127.0.0.1", "-P", "3306", "-uroot", "shutdown"])
        .output()
        .expect("mysqladmin");
    assert!(out.status.success(), "mysqladmin shutdown failed: {}", String::from_utf8_lossy(&out.stderr));
    // The server stops listening before its process exits, and
    // start-stop-daemon --oknodo would take the old process for the new.
    let down = Instant::now();
    while mariadb_up() || mariadbd_running() {
        assert!(down.elapsed() < Duration::from_secs(60), "MariaDB did not stop");
        thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new("start-stop-daemon")
        .args(["--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"])
        .output()
        .expect("start-stop-daemon");
    assert!(out.status.success(), "starting mariadbd failed: {}", String::from_utf8_lossy(&out.stderr));
    while !mariadb_up() {
        assert!(down.elapsed() < Duration::from_secs(120), "MariaDB did not come back");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Two `kvhost run` writers on a `store.sql` over the server `cfg` names
/// (declared in the registry as `db_entry`, an entry named `db`), with
/// `restart` called under them: every write a guest saw acknowledged is in
/// the table afterwards, and writes were acknowledged again after the
/// outage (the pool reconnected by itself).
pub fn acknowledged_writes_survive_restart(cfg: &SqlDatabaseConfig, db_entry: &str, restart: impl FnOnce()) {
    /// Writes each guest must get acknowledged.
    const WRITES: u64 = 4000;
    /// Acknowledged writes of the first guest before the restart.
    const RESTART_AFTER: u64 = 500;

    let rt = runtime();
    let db = connect(&rt, cfg);
    let table = unique_table("kv_restart");
    let names = TableNames::new(table.as_str());
    rt.block_on(db.execute_ddl(&cfg.dialect.schema(&names, Limits::DEFAULT_MAX_KEY_BYTES))).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("registry.yaml");
    std::fs::write(
        &reg,
        format!(
            "namespace: app\nentries:\n  - {{name: db, {db_entry}}}\n  - {{name: kv, kind: store.sql, database: app:db, table_name: {table}}}\n"
        ),
    )
    .unwrap();

    let results = write_through_fault(&reg, WRITES, RESTART_AFTER, restart);

    // Every acknowledged write is there, checked key by key on a fresh pool:
    // the old one's connections died with the server.
    rt.block_on(db.close());
    let db = connect(&rt, cfg);
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
    assert!(results[0].1.acked_after_outage().next().is_some(), "no write succeeded after the outage");
    println!(
        "faults injected: 1 {:?} restart; writes acknowledged: {total_acked}; refused as unavailable: {total_errors}; rows found: {total_found}",
        cfg.dialect
    );
    for (prefix, seen) in &results {
        println!("  writer {prefix} first errors: {:?}", seen.errors.iter().take(3).collect::<Vec<_>>());
    }
    rt.block_on(db.execute_ddl(&[format!("DROP TABLE {}", cfg.dialect.quote(&table))])).unwrap();
    rt.block_on(db.close());
}

/// A plain connection to the machine's Redis.
pub fn redis_connection() -> redis::RedisResult<redis::Connection> {
    redis::Client::open("redis://127.0.0.1:6379/0")?.get_connection()
}

/// Stop Redis and start it again with the settings it ran with.
pub fn restart_redis() {
    let mut con = redis_connection().expect("redis is up");
    let mut args = vec!["--daemonize".to_owned(), "yes".to_owned()];
    for name in ["bind", "port", "save", "appendonly", "dir", "dbfilename", "logfile"] {
        let pair: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(&mut con).unwrap();
        args.push(format!("--{name}"));
        match name {
            "bind" => args.extend(pair[1].split_whitespace().map(str::to_owned)),
            _ => args.push(pair[1].clone()),
        }
    }
    // SHUTDOWN saves first if the server is configured to.
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut con);
    let down = Instant::now();
    while redis_connection().is_ok() {
        assert!(down.elapsed() < Duration::from_secs(30), "redis did not stop");
        thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new("redis-server").args(&args).output().expect("redis-server");
    assert!(out.status.success(), "redis-server {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    while redis_connection().and_then(|mut c| redis::cmd("PING").query::<String>(&mut c)).is_err() {
        assert!(down.elapsed() < Duration::from_secs(60), "redis did not come back");
        thread::sleep(Duration::from_millis(50));
    }
}
