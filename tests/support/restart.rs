//! Restarting the machine's PostgreSQL and Redis under a test, for the
//! restart tests that scripts/test.sh runs alone, one at a time.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

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
