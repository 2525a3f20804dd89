//! A pooled connection taken for one operation, closed rather than returned
//! to the pool when that operation ran out of `query_timeout`.
//!
//! sqlx returns a dropped connection to its pool after a ping, which waits
//! (without a limit) for the answer to the query that was abandoned: on a
//! server that stopped answering, that ping never ends and the connection is
//! neither reused nor freed. A connection taken here is instead closed when
//! its operation's [`Deadline`] has passed, and the pool opens a fresh one
//! for the next operation.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;

use crate::backend::deadline::Deadline;

/// A connection from the pool, for the length of one operation.
pub(crate) struct Checkout<DB: sqlx::Database> {
    conn: PoolConnection<DB>,
    deadline: Option<Deadline>,
}

impl<DB: sqlx::Database> Checkout<DB> {
    /// Take a connection (within the pool's `acquire_timeout`).
    pub(crate) async fn take(pool: &sqlx::Pool<DB>) -> Result<Self, sqlx::Error> {
        Ok(Self { conn: pool.acquire().await?, deadline: Deadline::current() })
    }
}

impl<DB: sqlx::Database> Deref for Checkout<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: sqlx::Database> DerefMut for Checkout<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: sqlx::Database> Drop for Checkout<DB> {
    fn drop(&mut self) {
        if self.deadline.as_ref().is_some_and(Deadline::expired) {
            self.conn.close_on_drop();
        }
    }
}
