//! The listener of a Redis store's watch feed: one pub/sub connection per
//! watched store, subscribed to the store's channel (see
//! [`super::publish`]), forwarding every change it receives to the store's
//! watchers, and reconnecting when the connection is lost.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use redis::aio::{PubSub, PubSubStream};

use super::publish::{Message, parse};
use crate::watch::Publisher;

/// The first wait before reconnecting; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The longest wait between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How often an idle connection is pinged (a connection that no longer
/// answers is lost even if its socket did not say so), and how often the
/// listener checks whether its store is still there.
const PING_EVERY: Duration = Duration::from_secs(2);

/// Where a listener subscribes.
pub(super) struct Listener {
    /// The store's ID, for logs.
    pub(super) store: String,
    /// The client of the store's database: same address, TLS, credentials.
    pub(super) client: redis::Client,
    /// The store's channel.
    pub(super) channel: String,
    /// How long subscribing, and a ping, may wait for an answer: the
    /// database's `query_timeout`.
    pub(super) timeout: Duration,
}

impl Listener {
    /// Spawn the listener on `runtime`, feeding `publisher`, until the
    /// store is gone.
    pub(super) fn spawn(self, runtime: &tokio::runtime::Handle, publisher: Publisher) {
        runtime.spawn(self.run(publisher));
    }

    async fn run(self, publisher: Publisher) {
        let mut backoff = BACKOFF_MIN;
        let mut outage = false;
        loop {
            match self.subscribe().await {
                Ok(pubsub) => {
                    if outage {
                        tracing::info!(store = %self.store, channel = %self.channel, "watch: listening again after a lost connection");
                    }
                    backoff = BACKOFF_MIN;
                    if !publisher.listening(true) {
                        return;
                    }
                    let why = match self.forward(pubsub, &publisher).await {
                        Some(why) => why,
                        None => return,
                    };
                    tracing::warn!(store = %self.store, channel = %self.channel, "watch: lost the connection to Redis ({why}); reconnecting, changes made meanwhile are missed");
                    if !publisher.listening(false) {
                        return;
                    }
                    outage = true;
                }
                Err(e) => {
                    if !outage {
                        tracing::warn!(store = %self.store, channel = %self.channel, "watch: cannot subscribe ({e}); retrying");
                    }
                    // Nobody to tell once the store is gone.
                    if !publisher.listening(false) {
                        return;
                    }
                    outage = true;
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// A fresh pub/sub connection, subscribed.
    async fn subscribe(&self) -> Result<PubSub, String> {
        let subscribe = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(&self.channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(self.timeout, subscribe).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {:?} (query_timeout)", self.timeout)),
        }
    }

    /// Forward what arrives until the connection is lost (`Some(why)`) or
    /// the store is gone (`None`).
    async fn forward(&self, pubsub: PubSub, publisher: &Publisher) -> Option<String> {
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                message = next(&mut stream) => {
                    let Some(message) = message else { return Some("the server closed it".into()) };
                    let delivered = match parse(message.get_payload_bytes()) {
                        Some(Message::Set { key, value }) => publisher.set(key, value),
                        Some(Message::Delete { key }) => publisher.delete(key),
                        None => {
                            tracing::debug!(store = %self.store, channel = %self.channel, "watch: ignored a message that is not a kvhost change");
                            true
                        }
                    };
                    if !delivered {
                        return None;
                    }
                }
                _ = ping.tick() => {
                    // Still there? (`listening(true)` changes nothing while up.)
                    if !publisher.listening(true) {
                        return None;
                    }
                    match tokio::time::timeout(self.timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Some(e.to_string()),
                        Err(_) => return Some(format!("no answer to PING within {:?} (query_timeout)", self.timeout)),
                    }
                }
            }
        }
    }
}

async fn next(stream: &mut PubSubStream) -> Option<redis::Msg> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}
