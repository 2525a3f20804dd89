//! Measures 12: `kvhost serve` against `wasmtime serve -S keyvalue`, the
//! same counter guest (`guest-examples/rust-http` on wasi:keyvalue
//! 0.2.0-draft, which both implement) and the same load generator: HTTP/1.1
//! keep-alive connections on loopback, each sending `GET /counter` one
//! request after another, at 1 and 64 connections.
//!
//! The peer gives each request a fresh in-memory store (its counter always
//! answers 1); kvhost keeps the count in a store shared by every request.
//! The same counter on SQLite and PostgreSQL stores runs beside them.
//! Every server runs at once and the rounds alternate between them; the
//! load generator runs on one thread so the servers keep the other core.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use kvhost_tests::served::{Served, http_guest_draft, postgres, sqlite};
use tokio::net::TcpStream;

use crate::measure::{Report, median};

/// One round's figures for one server at one concurrency.
pub(crate) struct Round {
    /// Wall nanoseconds per request (1 / throughput).
    pub(crate) ns_per_request: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

pub fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    let guest = http_guest_draft();
    let dir = tempfile::tempdir()?;
    let (sqlite_dir, pg_dir) = (dir.path().join("sqlite"), dir.path().join("pg"));
    std::fs::create_dir_all(&sqlite_dir)?;
    std::fs::create_dir_all(&pg_dir)?;
    let sqlite_reg = sqlite(&sqlite_dir);
    let pg_reg = postgres(&pg_dir);
    let servers: Vec<(&str, Served)> = vec![
        ("wasmtime_serve", Served::wasmtime(&guest)),
        ("kvhost_serve.memory", Served::start(&[], &guest)),
        ("kvhost_serve.sqlite", Served::start(&["--config", &sqlite_reg, "--default-store", "app:kv"], &guest)),
        ("kvhost_serve.postgres", Served::start(&["--config", &pg_reg, "--default-store", "app:kv"], &guest)),
    ];
    let client = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let rounds = if scale > 1 { 5 } else { 3 };
    for connections in [1u64, 64] {
        let requests = if connections == 1 { 400 * scale } else { 2_000 * scale };
        let mut samples: BTreeMap<&str, Vec<Round>> = BTreeMap::new();
        for (_, served) in &servers {
            let addr: SocketAddr = served.url.trim_start_matches("http://").parse()?;
            client.block_on(load(addr, connections, 200))?; // warm up
        }
        for _ in 0..rounds {
            for (name, served) in &servers {
                let addr: SocketAddr = served.url.trim_start_matches("http://").parse()?;
                samples.entry(name).or_default().push(client.block_on(load(addr, connections, requests))?);
            }
        }
        let base = format!("12.wasmtime_serve.counter.c{connections}");
        // The peer first: the others are compared to it.
        for (name, _) in &servers {
            let rounds = samples.get_mut(name).expect("every server was measured");
            let line = format!("12.{name}.counter.c{connections}");
            let mut ns: Vec<f64> = rounds.iter().map(|r| r.ns_per_request).collect();
            let mut p50: Vec<f64> = rounds.iter().map(|r| r.p50).collect();
            let mut p99: Vec<f64> = rounds.iter().map(|r| r.p99).collect();
            let ns = median(&mut ns);
            report.add(&line, ns, (line != base).then_some(base.as_str()));
            report.add_value(&format!("{line}.requests_per_s"), 1e9 / ns, "req/s", None);
            report.add(&format!("{line}.p50"), median(&mut p50), None);
            report.add(&format!("{line}.p99"), median(&mut p99), None);
        }
        report.target(&format!("12.kvhost_serve.memory.counter.c{connections}"), 1.0);
    }
    Ok(())
}

/// `requests` requests of `GET /counter` over `connections` keep-alive
/// connections at once.
pub(crate) async fn load(addr: SocketAddr, connections: u64, requests: u64) -> anyhow::Result<Round> {
    let per_connection = (requests / connections).max(1);
    let start = Instant::now();
    let clients: Vec<_> = (0..connections).map(|_| tokio::spawn(client(addr, per_connection))).collect();
    let mut latencies = Vec::with_capacity((per_connection * connections) as usize);
    for c in clients {
        latencies.extend(c.await??);
    }
    let wall = start.elapsed().as_nanos() as f64;
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)] as f64;
    Ok(Round { ns_per_request: wall / latencies.len() as f64, p50: at(0.50), p99: at(0.99) })
}

/// One connection sending `n` requests one after another; each one's
/// latency in nanoseconds.
async fn client(addr: SocketAddr, n: u64) -> anyhow::Result<Vec<u64>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);
    let mut latencies = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let request = Request::get("/counter").header("host", addr.to_string()).body(Empty::<Bytes>::new())?;
        let start = Instant::now();
        let response = sender.send_request(request).await?;
        anyhow::ensure!(response.status() == 200, "GET /counter answered {}", response.status());
        response.into_body().collect().await?;
        latencies.push(start.elapsed().as_nanos() as u64);
    }
    drop(sender);
    let _ = connection.await;
    Ok(latencies)
}
