//! One connection per `db.redis` entry, shared by its stores.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use anyhow::anyhow;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, TlsCertificates};

use super::config::RedisDatabaseConfig;
use crate::backend::deadline::QueryTimeout;
use crate::backend::kind::{BoxFuture, Database};

/// A connected `db.redis` entry: one multiplexed connection that every store
/// on it shares, reconnected in the background when it drops, and replaced
/// when a command on it got no answer within `query_timeout`.
pub struct RedisDatabase {
    id: String,
    /// The shared connection, and how many times it was replaced.
    connection: RwLock<(u64, ConnectionManager)>,
    /// How the connection is made (to replace it).
    config: ConnectionManagerConfig,
    /// How long one operation may wait for the server.
    pub(crate) query_timeout: QueryTimeout,
    /// The entry as error messages name it: `database app:redis (db.redis)`.
    pub(crate) server: String,
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
        let addr = match &cfg.tls {
            None => ConnectionAddr::Tcp(cfg.host.clone(), cfg.port),
            Some(tls) => ConnectionAddr::TcpTls {
                host: cfg.host.clone(),
                port: cfg.port,
                insecure: tls.insecure,
                tls_params: None,
            },
        };
        let mut redis = RedisConnectionInfo::default().set_db(i64::from(cfg.database));
        if let Some(user) = &cfg.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &cfg.password {
            redis = redis.set_password(password);
        }
        let info = addr.into_connection_info().map_err(|e| anyhow!("{where_}: {e}"))?.set_redis_settings(redis);
        let client = match cfg.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
            None => redis::Client::open(info),
            Some(ca_file) => {
                let pem = std::fs::read(ca_file)
                    .map_err(|e| anyhow!("{id}: tls.ca_file {}: cannot read it: {e}", ca_file.display()))?;
                redis::Client::build_with_tls(info, TlsCertificates { client_tls: None, root_cert: Some(pem) })
            }
        }
        .map_err(|e| anyhow!("cannot connect to {where_}: {e}"))?;
        // An operation waits at most query_timeout (RedisStore bounds each
        // one, and replaces the connection when it expires); the connection's
        // own response timeout, a second later, is only a backstop. While the
        // server is away, a reconnection is tried a few times, then the next
        // command tries again.
        let query_timeout = QueryTimeout(cfg.query_timeout);
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(cfg.query_timeout.saturating_add(Duration::from_secs(1))))
            .set_connection_timeout(Some(cfg.query_timeout))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_millis(500));
        let silent =
            || anyhow!("cannot connect to {where_}: no answer within {} (query_timeout)", query_timeout.text());
        let connect = ConnectionManager::new_with_config(client.clone(), config.clone());
        let mut connection = tokio::time::timeout(cfg.query_timeout, connect)
            .await
            .map_err(|_| silent())?
            .map_err(|e| anyhow!("cannot connect to {where_}: {e}"))?;
        let durable = tokio::time::timeout(cfg.query_timeout, persists(&mut connection))
            .await
            .map_err(|_| silent())?
            .map_err(|e| anyhow!("cannot query {where_}: {e}"))?;
        Ok(Self {
            id: id.to_owned(),
            connection: RwLock::new((0, connection)),
            config,
            query_timeout,
            server: format!("database {id} (db.redis)"),
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

    /// The shared connection, and its generation (for [`Self::replace`]).
    pub(crate) fn connection(&self) -> (u64, ConnectionManager) {
        self.connection.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Drop connection `generation`, which left a command unanswered: the
    /// next command uses a new connection, made when it is first needed (a
    /// frozen connection would answer later commands only after the
    /// abandoned ones, if ever). Replaced once, whoever noticed first.
    pub(crate) fn replace(&self, generation: u64) {
        let mut current = self.connection.write().unwrap_or_else(PoisonError::into_inner);
        if current.0 != generation {
            return;
        }
        match ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone()) {
            Ok(fresh) => *current = (generation + 1, fresh),
            Err(e) => tracing::warn!(database = %self.id, error = %e, "cannot make a new Redis connection"),
        }
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
