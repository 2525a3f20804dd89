//! MariaDB shut down and started again under two kvhost processes whose
//! guests keep writing: the guests see `unavailable` while it is down, the
//! pool reconnects by itself, and every write a guest saw succeed is in the
//! table afterwards.
//!
//! It restarts the server every other MariaDB test uses, so it is
//! `#[ignore]`d in the main run and run alone by scripts/test.sh afterwards.

use kvhost_tests::backend::mysql_config;
use kvhost_tests::restart::{acknowledged_writes_survive_restart, restart_mariadb};

#[test]
#[ignore = "restarts MariaDB: scripts/test.sh runs it alone, after the main suite"]
fn acknowledged_writes_survive_a_mariadb_restart_and_writers_recover() {
    acknowledged_writes_survive_restart(
        &mysql_config(),
        "kind: db.sql.mysql, host: 127.0.0.1, port: 3306, database: test, username: root",
        restart_mariadb,
    );
}
