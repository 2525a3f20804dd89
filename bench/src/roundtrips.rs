//! Counting round trips: a loopback proxy that forwards bytes both ways and
//! counts the times the client sends while it waits for nothing, that is,
//! each time it goes back to the server after its answers came in. Requests
//! the client pipelines together are one round trip.
//!
//! PostgreSQL: a flight begins when the client sends after the server has
//! answered. Messages the client pipelines together (sqlx sends Bind,
//! Execute, Close, Sync in one go) are one flight. A flight that is one lone
//! `Sync` message is a ping: sqlx 0.9's pool pings every connection as it
//! returns to the pool (`return_to_pool` in sqlx-core's pool/connection.rs),
//! after the caller has its result. Those are counted apart.
//!
//! Redis answers each command of a pipeline as it reads it (`+QUEUED` inside
//! `MULTI`), while the client may still be writing, so there the proxy reads
//! RESP: a round trip begins when the client sends with every command it sent
//! already answered.

use std::sync::Arc;
use std::sync::Mutex;
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

impl Proxy {
    /// Round trips counted so far.
    pub fn trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }
}

/// The keys and 100-byte values of a batch of 1000.
pub fn batch_of_1000() -> Vec<(String, Vec<u8>)> {
    (0..1000).map(|i| (format!("batch-key-{i:06}"), vec![7u8; 100])).collect()
}

/// One `set-many` then one `get-many` of `entries` through `store`, which
/// talks to its server through `proxy`: the time and round trips of each,
/// reported as `NAME.set_many_1000` and `NAME.get_many_1000` (at most one
/// round trip each).
pub fn measure_batches(
    report: &mut crate::measure::Report,
    name: &str,
    store: &dyn kvhost::Store,
    proxy: &Proxy,
    entries: &[(String, Vec<u8>)],
) -> anyhow::Result<()> {
    use kvhost::Wait as _;
    let keys: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    let before = proxy.trips();
    let start = std::time::Instant::now();
    store.set_many(entries, None).wait()?;
    let set_ns = start.elapsed().as_nanos() as f64;
    let set_trips = proxy.trips() - before;
    let start = std::time::Instant::now();
    let got = store.get_many(&keys).wait()?;
    let get_ns = start.elapsed().as_nanos() as f64;
    let get_trips = proxy.trips() - before - set_trips;
    anyhow::ensure!(got.iter().all(Option::is_some), "batch get missed keys");
    report.add_value(&format!("{name}.set_many_1000"), set_ns, "ns", None);
    report.add_value(&format!("{name}.set_many_1000.round_trips"), set_trips as f64, "trips", Some(1.0));
    report.add_value(&format!("{name}.get_many_1000"), get_ns, "ns", None);
    report.add_value(&format!("{name}.get_many_1000.round_trips"), get_trips as f64, "trips", Some(1.0));
    Ok(())
}

const LONE_SYNC: [u8; 5] = [b'S', 0, 0, 0, 4];

/// The wire protocol the proxy relays, which says where a round trip begins.
#[derive(Debug, Clone, Copy)]
pub enum Protocol {
    Postgres,
    Redis,
}

/// Start a proxy to `upstream` on a free loopback port.
pub async fn start(upstream: &'static str, protocol: Protocol) -> anyhow::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (round_trips, pings) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let counters = (round_trips.clone(), pings.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counters = counters.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(upstream).await {
                    // Without this, Nagle holds the tail of a large flight
                    // until the delayed ACK, 40 ms later.
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    let _ = match protocol {
                        Protocol::Postgres => relay(client, server, counters).await,
                        Protocol::Redis => relay_resp(client, server, counters.0).await,
                    };
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

/// Relay Redis traffic, counting commands sent and replies received.
async fn relay_resp(client: TcpStream, server: TcpStream, trips: Arc<AtomicU64>) -> std::io::Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    // (commands sent, replies received)
    let counts = Arc::new(Mutex::new((Values::default(), Values::default())));
    let seen = counts.clone();
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = sr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            seen.lock().unwrap().1.feed(&buf[..n]);
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = cr.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        {
            let (sent, answered) = &mut *counts.lock().unwrap();
            if sent.count == answered.count && sent.partial.is_empty() {
                trips.fetch_add(1, Ordering::Relaxed);
            }
            sent.feed(&buf[..n]);
        }
        sw.write_all(&buf[..n]).await?;
    }
    down.abort();
    Ok(())
}

/// Complete RESP values seen in one direction of a stream.
#[derive(Default)]
struct Values {
    count: u64,
    /// The start of a value whose end has not arrived yet.
    partial: Vec<u8>,
}

impl Values {
    fn feed(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(end) = value_end(&self.partial, at) {
            self.count += 1;
            at = end;
        }
        self.partial.drain(..at);
    }
}

/// Where the RESP value that starts at `at` ends, if all of it is in `buf`.
fn value_end(buf: &[u8], at: usize) -> Option<usize> {
    let line = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let next = line + 2;
    let len = || std::str::from_utf8(&buf[at + 1..line]).ok()?.parse::<i64>().ok();
    match buf[at] {
        // Bulk strings, bulk errors, verbatim strings: a length, then bytes.
        b'$' | b'!' | b'=' => match usize::try_from(len()?) {
            Ok(n) => Some(next + n + 2).filter(|&end| end <= buf.len()),
            Err(_) => Some(next), // $-1: nil
        },
        // Arrays, sets, pushes; maps hold two values per entry.
        kind @ (b'*' | b'~' | b'>' | b'%') => {
            let n = len()?.max(0) * if kind == b'%' { 2 } else { 1 };
            (0..n).try_fold(next, |at, _| value_end(buf, at))
        }
        // Simple strings, errors, integers, nil, booleans, doubles, big numbers.
        _ => Some(next),
    }
}

#[cfg(test)]
mod tests {
    use super::Values;

    #[test]
    fn counts_values_split_across_reads() {
        let stream = b"+OK\r\n+QUEUED\r\n*2\r\n$3\r\nabc\r\n$-1\r\n:5\r\n";
        for split in 0..stream.len() {
            let mut values = Values::default();
            values.feed(&stream[..split]);
            values.feed(&stream[split..]);
            assert_eq!((values.count, values.partial.len()), (4, 0), "split at {split}");
        }
    }
}
