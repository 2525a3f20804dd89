//! `kvhost schema`: the DDL of a SQL store's table, printed or applied.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kvhost::registry::{Kind, Registry};
use kvhost::sql::{DatabaseTarget, Dialect, SqlDatabase, SqlDatabaseConfig, SqlStoreConfig, TableNames};
use kvhost::{Host, Limits};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  kvhost schema --dialect postgres --table kv_store\n  kvhost schema --config registry.yaml app:cache --apply"
)]
pub struct SchemaArgs {
    /// postgres, mysql (or mariadb), or sqlite.
    #[arg(long, value_parser = parse_dialect, required_unless_present = "configs", conflicts_with = "configs")]
    dialect: Option<Dialect>,
    /// Table name (with --dialect).
    #[arg(long, requires = "dialect")]
    table: Option<String>,
    /// Key column.
    #[arg(long, default_value = "key", requires = "dialect")]
    id_column: String,
    /// Value column.
    #[arg(long, default_value = "value", requires = "dialect")]
    payload_column: String,
    /// Expiry column (Unix milliseconds).
    #[arg(long, default_value = "expires_at", requires = "dialect")]
    expire_column: String,
    /// Add a version column (BIGINT) with this name, for exact versions.
    #[arg(long, requires = "dialect")]
    version_column: Option<String>,
    /// Width of the key column in bytes.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_KEY_BYTES, requires = "dialect")]
    max_key_bytes: u32,
    /// Registry file or folder (repeatable); then give STORE_ID.
    #[arg(long = "config", short = 'c', value_name = "PATH", requires = "store")]
    configs: Vec<PathBuf>,
    /// The store.sql entry whose table to describe.
    #[arg(value_name = "STORE_ID")]
    store: Option<String>,
    /// Create the table and index in the store's database if they are absent.
    #[arg(long, requires = "store")]
    apply: bool,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    Dialect::from_name(s).ok_or_else(|| format!("`{s}` is not a dialect; use postgres, mysql or sqlite"))
}

pub async fn schema(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    if let Some(dialect) = args.dialect {
        let table = args.table.context("--table is required with --dialect")?;
        let names = TableNames {
            table,
            key: args.id_column,
            value: args.payload_column,
            expires_at: args.expire_column,
            version: args.version_column,
        };
        names.validate()?;
        print(&dialect.schema(&names, args.max_key_bytes))?;
        return Ok(ExitCode::SUCCESS);
    }
    let id = args.store.context("give STORE_ID with --config")?;
    let registry = Registry::load(&args.configs)?;
    let store = registry.store(&id)?;
    let Some(table) = store.config::<SqlStoreConfig>().map(|c| &c.table) else {
        bail!("{id} is a store of another kind, not a store.sql");
    };
    let database = store.database().context("a store.sql names its database")?.to_owned();
    let Some(db) = registry.get(&database).and_then(|e| match &e.kind {
        Kind::Database(d) => d.config::<SqlDatabaseConfig>(),
        _ => None,
    }) else {
        bail!("{id}: database {database} is not a db.sql.* entry");
    };
    let ddl = db.dialect.schema(table, store.limits().max_key_bytes);
    if !args.apply {
        print(&ddl)?;
        return Ok(ExitCode::SUCCESS);
    }
    if matches!(db.target, DatabaseTarget::Sqlite { file: None }) {
        bail!(
            "{database} is a SQLite :memory: database: kvhost creates its tables at start, so there is nothing to apply"
        );
    }
    let host = Host::new(registry.clone());
    host.start(std::slice::from_ref(&database)).await?;
    let sql = host.database::<SqlDatabase>(&database).context("database did not start")?;
    let existed = sql.has_table(&table.table).await;
    let result = sql.execute_ddl(&ddl).await;
    host.shutdown().await;
    result?;
    let done = if existed {
        format!("table {} was already in {database}; its expiry index is there too", table.table)
    } else {
        format!("created table {} and its expiry index in {database}", table.table)
    };
    std::io::Write::write_all(&mut std::io::stdout(), format!("{done}\n").as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn print(ddl: &[String]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    ddl.iter().try_for_each(|statement| writeln!(out, "{statement};"))
}
