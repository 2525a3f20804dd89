//! Counting round trips to PostgreSQL: a loopback proxy that forwards bytes
//! both ways and counts client flights, that is, each time the client sends
//! after the server has answered. Messages the client pipelines together
//! (sqlx sends Bind, Execute, Close, Sync in one go) are one round trip.
//!
//! A flight that is one lone `Sync` message is a ping: sqlx 0.9's pool pings
//! every connection as it returns to the pool (`return_to_pool` in
//! sqlx-core's pool/connection.rs), after the caller has its result. Those
//! are counted apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where the proxy listens, and how many round trips it has seen.
pub struct Proxy {
    pub port: u16,
    /// Flights that carry statements.
    pub round_trips: Arc<AtomicU64>,
    /// Flights that are a lone Sync: the pool's pings.
    pub pings: Arc<AtomicU64>,
}

const LONE_SYNC: [u8; 5] = [b'S', 0, 0, 0, 4];

/// Start a proxy to `upstream` on a free loopback port.
pub async fn start(upstream: &'static str) -> anyhow::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (round_trips, pings) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let counters = (round_trips.clone(), pings.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counters = counters.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(upstream).await {
                    let _ = relay(client, server, counters).await;
                }
            });
        }
    });
    Ok(Proxy { port, round_trips, pings })
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    (trips, pings): (Arc<AtomicU64>, Arc<AtomicU64>),
) -> std::io::Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let answered = Arc::new(AtomicBool::new(true));
    let seen = answered.clone();
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = sr.read(&mut buf).await {
            if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            seen.store(true, Ordering::Release);
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = cr.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if answered.swap(false, Ordering::AcqRel) {
            let counter = if buf[..n] == LONE_SYNC { &pings } else { &trips };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        sw.write_all(&buf[..n]).await?;
    }
    down.abort();
    Ok(())
}
