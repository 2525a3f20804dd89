//! Measures 14: `kvhost serve` under attack. Good clients (8 keep-alive
//! connections sending `GET /counter` one after another) are measured
//! alone, then while 5,000 connections hold half a request head (each
//! reconnecting as soon as the header timeout closes it) and a flood of
//! connections opens and drops as fast as 16 tasks can; rounds alternate
//! between calm and attack. Beside the latencies: the server's resident
//! memory and open descriptors (from /proc), at rest and at their peak
//! under attack, against its connection cap. Loopback only, default
//! limits, about a minute.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use kvhost_tests::served::{Served, http_guest_draft};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::measure::{Report, median};
use crate::serve::{Round, load};

/// Connections that send half a head and wait.
const SLOW_HEADS: u64 = 5_000;
/// Tasks that connect and drop connections in a loop.
const FLOODERS: u64 = 16;
/// The good clients' connections.
const GOOD: u64 = 8;

pub fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    raise_open_file_limit();
    let served = Served::start(&[], &http_guest_draft());
    let addr = served.addr();
    let pid = served.pid();
    let client = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let requests = 2_000 * scale;
    client.block_on(load(addr, GOOD, 500))?; // warm up
    let (rss_rest, fds_rest) = (rss(pid), open_fds(pid));
    let rounds = if scale > 1 { 5 } else { 3 };
    let (mut calm, mut attacked) = (Vec::new(), Vec::new());
    let peak = Arc::new(Peak::default());
    for _ in 0..rounds {
        calm.push(client.block_on(load(addr, GOOD, requests))?);
        let sampling = Arc::new(AtomicBool::new(false));
        let sampler = peak.clone().sample(pid, sampling.clone());
        let attack = Attack::start(addr);
        attacked.push(client.block_on(load(addr, GOOD, requests))?);
        attack.stop();
        sampling.store(true, Ordering::Relaxed);
        sampler.join().expect("the sampler ended");
    }
    let figures = |rounds: &mut Vec<Round>| {
        let mut ns: Vec<f64> = rounds.iter().map(|r| r.ns_per_request).collect();
        let mut p50: Vec<f64> = rounds.iter().map(|r| r.p50).collect();
        let mut p99: Vec<f64> = rounds.iter().map(|r| r.p99).collect();
        (median(&mut ns), median(&mut p50), median(&mut p99))
    };
    let (calm_ns, calm_p50, calm_p99) = figures(&mut calm);
    let (attacked_ns, attacked_p50, attacked_p99) = figures(&mut attacked);
    report.add("14.hostile.calm.counter.c8", calm_ns, None);
    report.add("14.hostile.attacked.counter.c8", attacked_ns, Some("14.hostile.calm.counter.c8"));
    report.add_value("14.hostile.calm.requests_per_s", 1e9 / calm_ns, "req/s", None);
    report.add_value("14.hostile.attacked.requests_per_s", 1e9 / attacked_ns, "req/s", None);
    report.add("14.hostile.calm.p50", calm_p50, None);
    report.add("14.hostile.attacked.p50", attacked_p50, Some("14.hostile.calm.p50"));
    report.add("14.hostile.calm.p99", calm_p99, None);
    report.add("14.hostile.attacked.p99", attacked_p99, Some("14.hostile.calm.p99"));
    report.target("14.hostile.attacked.p99", 2.0);
    let (rss_peak, fds_peak) = (peak.rss.load(Ordering::Relaxed), peak.fds.load(Ordering::Relaxed));
    report.add_value("14.hostile.rss_at_rest", rss_rest as f64 / 1048576.0, "MiB", None);
    report.add_value(
        "14.hostile.rss_growth_under_attack",
        rss_peak.saturating_sub(rss_rest) as f64 / 1048576.0,
        "MiB",
        None,
    );
    report.add_value("14.hostile.fds_at_rest", fds_rest as f64, "fds", None);
    let cap = kvhost::serve::ServeLimits::default().max_connections;
    report.add_value(
        "14.hostile.fds_peak_under_attack",
        fds_peak as f64,
        "fds",
        Some(f64::from(cap) + fds_rest as f64),
    );
    Ok(())
}

/// The attackers of one round, on a thread and runtime of their own (so
/// they do not delay the good clients' clock), until stopped.
struct Attack {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Attack {
    /// Start the slow heads, and once all are connected the flood.
    fn start(addr: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let connected = Arc::new(AtomicU64::new(0));
        let (ready, started) = std::sync::mpsc::channel();
        let (stopping, counting) = (stop.clone(), connected.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for i in 0..SLOW_HEADS {
                    tasks.push(tokio::spawn(slow_head(addr, stopping.clone(), counting.clone())));
                    // Let them connect in waves, within the listener's backlog.
                    if i % 256 == 255 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                while counting.load(Ordering::Relaxed) < SLOW_HEADS {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                for _ in 0..FLOODERS {
                    tasks.push(tokio::spawn(flood(addr, stopping.clone())));
                }
                let _ = ready.send(());
                while !stopping.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                for task in tasks {
                    task.abort();
                    let _ = task.await;
                }
            });
        });
        started.recv().expect("the attackers connected");
        Self { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the attack thread ended");
    }
}

/// Half a head, then nothing; again each time the server closes it.
async fn slow_head(addr: SocketAddr, stop: Arc<AtomicBool>, connected: Arc<AtomicU64>) {
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if stream.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n").await.is_err() {
            continue;
        }
        if std::mem::take(&mut first) {
            connected.fetch_add(1, Ordering::Relaxed);
        }
        let mut buf = [0; 64];
        // Until the server closes it.
        while matches!(tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await, Ok(n) if n > 0) {}
    }
}

/// Connect, send a byte, drop; again every 5 ms (16 of them: about 3,000
/// connections a second, what one core beside the server can keep up).
async fn flood(addr: SocketAddr, stop: Arc<AtomicBool>) {
    let mut every = tokio::time::interval(Duration::from_millis(5));
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        if let Ok(mut stream) = TcpStream::connect(addr).await {
            let _ = stream.write_all(b"G").await;
        }
    }
}

/// The highest resident memory and descriptor count seen.
#[derive(Default)]
struct Peak {
    rss: AtomicU64,
    fds: AtomicU64,
}

impl Peak {
    /// Sample process `pid` every 20 ms on a thread of its own until `stop`.
    fn sample(self: Arc<Self>, pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                self.rss.fetch_max(rss(pid), Ordering::Relaxed);
                self.fds.fetch_max(open_fds(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    }
}

/// Resident bytes of process `pid`.
fn rss(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// Open descriptors of process `pid`.
fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

/// Raise this process's soft limit on open files to its hard limit: the
/// attackers need more than 5,000 (the server, started after, inherits it).
fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
