//! One connection per `db.redis` entry, shared by its stores.

use std::time::Duration;

use anyhow::anyhow;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

use super::config::RedisDatabaseConfig;
use crate::backend::kind::{BoxFuture, Database};

/// How long one command may take before it is `unavailable`, and how long a
/// connection attempt may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// A connected `db.redis` entry: one multiplexed connection that every store
/// on it shares, reconnected in the background when it drops.
pub struct RedisDatabase {
    id: String,
    pub(crate) connection: ConnectionManager,
    /// The client the connection came from: watch listeners open their
    /// pub/sub connections with it (same address, TLS, credentials, database).
    pub(crate) client: redis::Client,
    /// The logical database index (`SELECT`): part of the watch channel's
    /// name, as pub/sub channels are shared by every database of a server.
    pub(crate) database: u32,
    durable: bool,
    /// The runtime the connection's tasks run on: operations are polled there.
    pub(crate) runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for RedisDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDatabase").field("id", &self.id).finish()
    }
}

impl RedisDatabase {
    /// Connect database entry `id`, and ask the server whether it persists
    /// what it holds.
    pub async fn connect(id: &str, cfg: &RedisDatabaseConfig) -> anyhow::Result<Self> {
        let where_ = format!("redis at {}:{}, database {}", cfg.host, cfg.port, cfg.database);
        let addr = match cfg.tls {
            false => ConnectionAddr::Tcp(cfg.host.clone(), cfg.port),
            true => {
                ConnectionAddr::TcpTls { host: cfg.host.clone(), port: cfg.port, insecure: false, tls_params: None }
            }
        };
        let mut redis = RedisConnectionInfo::default().set_db(i64::from(cfg.database));
        if let Some(user) = &cfg.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &cfg.password {
            redis = redis.set_password(password);
        }
        let info = addr.into_connection_info().map_err(|e| anyhow!("{where_}: {e}"))?.set_redis_settings(redis);
        let client = redis::Client::open(info).map_err(|e| anyhow!("cannot connect to {where_}: {e}"))?;
        // A command waits at most TIMEOUT; while the server is away, a
        // reconnection is tried a few times, then the next command tries again.
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(TIMEOUT))
            .set_connection_timeout(Some(TIMEOUT))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_millis(500));
        let mut connection = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| anyhow!("cannot connect to {where_}: {e}"))?;
        let durable = persists(&mut connection).await.map_err(|e| anyhow!("cannot query {where_}: {e}"))?;
        Ok(Self {
            id: id.to_owned(),
            connection,
            client,
            database: cfg.database,
            durable,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// The entry's ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the server persists its data (AOF, or RDB snapshots), as it
    /// said when this entry connected.
    pub fn durable(&self) -> bool {
        self.durable
    }
}

/// Whether the server keeps its data across a restart: `appendonly yes`, or
/// any `save` rule. Servers that refuse `CONFIG` (managed services) are asked
/// through `INFO persistence`.
async fn persists(connection: &mut ConnectionManager) -> redis::RedisResult<bool> {
    let config: redis::RedisResult<Vec<String>> =
        redis::cmd("CONFIG").arg("GET").arg("appendonly").arg("save").query_async(connection).await;
    if let Ok(pairs) = config {
        let value = |name: &str| pairs.chunks(2).find(|p| p[0] == name).map(|p| p[1].trim().to_owned());
        return Ok(value("appendonly").as_deref() == Some("yes") || value("save").is_some_and(|s| !s.is_empty()));
    }
    // INFO does not say whether snapshots are configured: only the AOF counts.
    let info: String = redis::cmd("INFO").arg("persistence").query_async(connection).await?;
    Ok(info.lines().any(|l| l.trim() == "aof_enabled:1"))
}

impl Database for RedisDatabase {
    /// Nothing to wait for: the connection closes when its last user drops it.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}
