//! Redis (and Valkey) stores over redis-rs: `db.redis` entries are a
//! connection, `store.redis` entries a key prefix in it. See [`RedisStore`]
//! for how entries are kept, and [`publish`] for how their changes reach
//! the watchers of every host sharing a store.

mod config;
mod database;
mod listen;
mod publish;
mod scripts;
mod store;

pub(crate) use config::{DATABASE_KIND, STORE_KIND};
pub use config::{RedisDatabaseConfig, RedisStoreConfig, RedisTls};
pub use database::RedisDatabase;
pub use store::{RedisStore, redis_version};
