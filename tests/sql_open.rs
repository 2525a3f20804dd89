//! Opening SQL stores: clear errors for missing tables and columns, hostile
//! names refused, and the schema DDL creating working tables.

use std::sync::Arc;

use kvhost::clock::ManualClock;
use kvhost::sql::{
    DatabaseTarget, Dialect, PoolConfig, SqlDatabase, SqlDatabaseConfig as DatabaseConfig, SqlStore, TableNames,
};
use kvhost::{Store, Wait};
use kvhost_tests::backend::{connect, mysql_config, postgres_config, runtime, unique_table};

fn sqlite_config(dir: &tempfile::TempDir) -> DatabaseConfig {
    DatabaseConfig {
        dialect: Dialect::Sqlite,
        target: DatabaseTarget::Sqlite { file: Some(dir.path().join("kv.db")) },
        options: Default::default(),
        pool: PoolConfig::default(),
        query_timeout: std::time::Duration::from_secs(30),
    }
}

fn open(rt: &tokio::runtime::Runtime, db: &Arc<SqlDatabase>, names: &TableNames) -> anyhow::Result<SqlStore> {
    rt.block_on(SqlStore::open("test:s", db.clone(), names, Arc::new(ManualClock::starting_now())))
}

fn check_open_errors(cfg: DatabaseConfig) {
    let rt = runtime();
    let db = connect(&rt, &cfg);
    let table = unique_table("kvt_open");
    let names = TableNames::new(table.as_str());

    let err = format!("{:#}", open(&rt, &db, &names).unwrap_err());
    assert!(err.contains(&format!("table {table} does not exist")), "{err}");
    assert!(err.contains("kvhost schema --config REGISTRY test:s --apply"), "{err}");

    let ddl = cfg.dialect.schema(&names, 255);
    rt.block_on(db.execute_ddl(&ddl)).unwrap();
    rt.block_on(db.execute_ddl(&ddl)).expect("the DDL is idempotent");
    let wrong = TableNames { key: "k".into(), ..names.clone() };
    let err = format!("{:#}", open(&rt, &db, &wrong).unwrap_err());
    assert!(err.contains("does not have the columns k, value, expires_at"), "{err}");

    let store = open(&rt, &db, &names).expect("the schema's table works");
    store.set("k", b"v".to_vec(), None).wait().unwrap();
    assert_eq!(store.get("k").wait().unwrap().as_deref(), Some(&b"v"[..]));

    let hostile = TableNames::new("kv; DROP TABLE users");
    let err = format!("{:#}", open(&rt, &db, &hostile).unwrap_err());
    assert!(err.contains("is not a valid identifier"), "{err}");

    let drop = format!("DROP TABLE {}", cfg.dialect.quote(&table));
    rt.block_on(db.execute_ddl(&[drop])).unwrap();
}

#[test]
fn open_errors_name_the_fix_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    check_open_errors(sqlite_config(&dir));
}

#[test]
fn open_errors_name_the_fix_on_postgres() {
    check_open_errors(postgres_config());
}

#[test]
fn open_errors_name_the_fix_on_mysql() {
    check_open_errors(mysql_config());
}

/// `cfg` with `port` and a password that must never be shown.
fn with_secret(mut cfg: DatabaseConfig, port: u16) -> DatabaseConfig {
    if let DatabaseTarget::Server { port: p, password, .. } = &mut cfg.target {
        *p = port;
        *password = Some("s3cret-pw".into());
    }
    cfg
}

#[test]
fn connection_errors_name_the_server_and_never_the_password() {
    let rt = runtime();
    for cfg in [with_secret(postgres_config(), 9), with_secret(mysql_config(), 9)] {
        let err = format!("{:#}", rt.block_on(SqlDatabase::connect("app:db", &cfg)).unwrap_err());
        assert!(err.contains("127.0.0.1:9") && err.contains("database test"), "{err}");
        assert!(!err.contains("s3cret-pw"), "the password leaked: {err}");
    }
}

#[test]
fn mysql_refuses_a_wrong_password_without_showing_it() {
    let rt = runtime();
    connect(&rt, &mysql_config());
    let cfg = with_secret(mysql_config(), 3306);
    let err = format!("{:#}", rt.block_on(SqlDatabase::connect("app:db", &cfg)).unwrap_err());
    assert!(err.contains("user root"), "{err}");
    assert!(!err.contains("s3cret-pw"), "the password leaked: {err}");
}
