//! TLS for real: a Redis and a PostgreSQL of the test's own that speak only
//! TLS, with certificates the test makes (support/tls.rs), reached through
//! `db.redis`'s `tls` and `db.sql.postgres`'s `sslmode`/`sslrootcert`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kvhost::clock::SystemClock;
use kvhost::redis::{RedisDatabase, RedisDatabaseConfig, RedisStore, RedisTls};
use kvhost::sql::{DatabaseTarget, Dialect, PoolConfig, SqlDatabase, SqlDatabaseConfig, SqlStore, TableNames};
use kvhost::{Limits, Store, Wait};
use kvhost_tests::backend::runtime;
use kvhost_tests::tls::{Certs, TlsPostgres, TlsRedis};

fn redis_config(port: u16, tls: RedisTls) -> RedisDatabaseConfig {
    RedisDatabaseConfig { port, tls: Some(tls), query_timeout: Duration::from_secs(5), ..RedisDatabaseConfig::local() }
}

/// Connect, open a store, write and read back a key.
fn redis_round_trip(cfg: &RedisDatabaseConfig) {
    let rt = runtime();
    let db = Arc::new(rt.block_on(RedisDatabase::connect("app:redis", cfg)).expect("connects over TLS"));
    let store = rt.block_on(RedisStore::open("app:kv", db, "tls-test:", Arc::new(SystemClock))).unwrap();
    store.set("k", b"over tls".to_vec(), None).wait().unwrap();
    assert_eq!(store.get("k").wait().unwrap().as_deref(), Some(&b"over tls"[..]));
}

#[test]
fn redis_tls_with_the_servers_ca_file_connects() {
    let certs = Certs::new();
    let server = TlsRedis::start(&certs);
    redis_round_trip(&redis_config(server.port, RedisTls { ca_file: Some(certs.ca.clone()), insecure: false }));
}

#[test]
fn redis_tls_insecure_accepts_a_certificate_no_root_vouches_for() {
    let certs = Certs::new();
    let server = TlsRedis::start(&certs);
    redis_round_trip(&redis_config(server.port, RedisTls { ca_file: None, insecure: true }));
}

#[test]
fn redis_tls_refuses_a_certificate_its_roots_did_not_sign_saying_why() {
    let certs = Certs::new();
    let server = TlsRedis::start(&certs);
    let rt = runtime();
    for (what, tls) in [
        ("tls: true (the Mozilla roots)", RedisTls::default()),
        ("another CA's ca_file", RedisTls { ca_file: Some(certs.other_ca.clone()), insecure: false }),
    ] {
        let e = rt.block_on(RedisDatabase::connect("app:redis", &redis_config(server.port, tls))).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains(&format!("cannot connect to redis at 127.0.0.1:{}", server.port)) && e.contains("certificate"),
            "{what}: says where and that the certificate is not trusted: {e}"
        );
    }
}

#[test]
fn redis_tls_with_a_missing_ca_file_names_it() {
    let missing = std::path::PathBuf::from("/nonexistent/kvhost-ca.pem");
    let cfg = redis_config(6379, RedisTls { ca_file: Some(missing), insecure: false });
    let e = runtime().block_on(RedisDatabase::connect("app:redis", &cfg)).unwrap_err().to_string();
    assert!(e.contains("app:redis: tls.ca_file /nonexistent/kvhost-ca.pem: cannot read it"), "{e}");
}

fn postgres_config(port: u16, options: &[(&str, &str)]) -> SqlDatabaseConfig {
    SqlDatabaseConfig {
        dialect: Dialect::Postgres,
        target: DatabaseTarget::Server {
            host: "127.0.0.1".into(),
            port,
            database: "postgres".into(),
            username: "postgres".into(),
            password: None,
        },
        options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        pool: PoolConfig { max_open: 2, max_idle: 1, ..Default::default() },
        query_timeout: Duration::from_secs(10),
    }
}

#[test]
fn postgres_verify_full_with_the_servers_root_cert_connects_and_stores() {
    let certs = Certs::new();
    let server = TlsPostgres::start(&certs);
    let ca = certs.ca.display().to_string();
    let cfg = postgres_config(server.port, &[("sslmode", "verify-full"), ("sslrootcert", &ca)]);
    let rt = runtime();
    let db = Arc::new(rt.block_on(SqlDatabase::connect("app:pg", &cfg)).expect("connects with verify-full"));
    let names = TableNames::new("kv_tls");
    rt.block_on(db.execute_ddl(&Dialect::Postgres.schema(&names, Limits::DEFAULT_MAX_KEY_BYTES))).unwrap();
    let store = rt.block_on(SqlStore::open("app:kv", db, &names, Arc::new(SystemClock))).unwrap();
    store.set("k", b"over tls".to_vec(), None).wait().unwrap();
    assert_eq!(store.get("k").wait().unwrap().as_deref(), Some(&b"over tls"[..]));
}

#[test]
fn postgres_verify_full_refuses_a_server_another_root_signed_saying_why() {
    let certs = Certs::new();
    let server = TlsPostgres::start(&certs);
    let other = certs.other_ca.display().to_string();
    let cfg = postgres_config(server.port, &[("sslmode", "verify-full"), ("sslrootcert", &other)]);
    let e = format!("{:#}", runtime().block_on(SqlDatabase::connect("app:pg", &cfg)).unwrap_err());
    assert!(
        e.contains(&format!("cannot connect to postgres at 127.0.0.1:{}", server.port)) && e.contains("certificate"),
        "says where and that the certificate is not trusted: {e}"
    );
    // The server takes only TLS: without it, it says so.
    let plain = postgres_config(server.port, &[("sslmode", "disable")]);
    let e = format!("{:#}", runtime().block_on(SqlDatabase::connect("app:pg", &plain)).unwrap_err());
    assert!(e.contains("no pg_hba.conf entry") && e.contains("no encryption"), "{e}");
}

#[test]
fn postgres_unknown_sslmode_is_one_clear_error() {
    let cfg = postgres_config(5432, &[("sslmode", "sometimes")]);
    let e = format!("{:#}", runtime().block_on(SqlDatabase::connect("app:pg", &cfg)).unwrap_err());
    assert!(e.contains("option sslmode: `sometimes` is not accepted by db.sql.postgres"), "{e}");
}
