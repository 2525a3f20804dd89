//! PostgreSQL restarted (`pg_ctlcluster restart`) under two kvhost processes
//! whose guests keep writing: the guests see `unavailable` while it is down,
//! the pool reconnects by itself, and every write a guest saw succeed is in
//! the table afterwards.
//!
//! It restarts the server every other SQL test uses, so it is `#[ignore]`d in
//! the main run and run alone by scripts/test.sh afterwards.

use kvhost_tests::backend::postgres_config;
use kvhost_tests::restart::{acknowledged_writes_survive_restart, restart_postgres};

#[test]
#[ignore = "restarts PostgreSQL: scripts/test.sh runs it alone, after the main suite"]
fn acknowledged_writes_survive_a_postgres_restart_and_writers_recover() {
    acknowledged_writes_survive_restart(
        &postgres_config(),
        "kind: db.sql.postgres, host: 127.0.0.1, port: 5432, database: test, username: postgres",
        restart_postgres,
    );
}
