//! A fault proxy: a TCP proxy on 127.0.0.1 in front of a database server
//! that passes bytes, holds them (a frozen server: every socket stays open,
//! nothing arrives either way), adds latency, or cuts every connection.
//!
//! It runs on a runtime of its own, so that tests drive it from synchronous
//! code and it keeps forwarding while the test thread waits on a store.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with the bytes it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward them.
    Pass,
    /// Hold them (and keep every socket open) until the mode changes.
    Freeze,
    /// Forward each chunk this long after it arrived.
    Delay(Duration),
    /// Close every connection, and each new one as soon as it is accepted.
    Cut,
}

/// A running proxy; stopped (every connection closed) when dropped.
pub struct Proxy {
    port: u16,
    mode: watch::Sender<Mode>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// A proxy on a free port of 127.0.0.1 in front of `upstream`
    /// (`127.0.0.1:5432`), passing bytes.
    pub fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = upstream.parse().expect("an address such as 127.0.0.1:5432");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("the proxy's runtime");
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("a free port on 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let (mode, _) = watch::channel(Mode::Pass);
        let modes = mode.clone();
        rt.spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let mode = modes.subscribe();
                if *mode.borrow() == Mode::Cut {
                    continue; // dropped: closed at once
                }
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(upstream).await else { return };
                    let _ = (inbound.set_nodelay(true), outbound.set_nodelay(true));
                    let (client_read, client_write) = inbound.into_split();
                    let (server_read, server_write) = outbound.into_split();
                    tokio::spawn(pump(client_read, server_write, mode.clone()));
                    tokio::spawn(pump(server_read, client_write, mode));
                });
            }
        });
        Proxy { port, mode, rt: Some(rt) }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Forward bytes again (what was held is delivered).
    pub fn pass(&self) {
        self.set(Mode::Pass);
    }

    /// Hold every byte, keeping every connection open.
    pub fn freeze(&self) {
        self.set(Mode::Freeze);
    }

    /// Close every connection, and refuse new ones until [`Proxy::pass`].
    pub fn cut(&self) {
        self.set(Mode::Cut);
    }

    /// Forward every chunk `latency` after it arrived.
    pub fn delay(&self, latency: Duration) {
        self.set(Mode::Delay(latency));
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set(Mode::Cut);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Copy `from` to `to` as the mode allows, until either side closes or the
/// connection is cut.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = mode.wait_for(|m| *m == Mode::Cut) => return,
        };
        // Hold the chunk while frozen.
        let latency = loop {
            match *mode.borrow_and_update() {
                Mode::Pass => break None,
                Mode::Delay(d) => break Some(d),
                Mode::Cut => return,
                Mode::Freeze => {}
            }
            if mode.changed().await.is_err() {
                return;
            }
        };
        if let Some(d) = latency {
            tokio::time::sleep(d).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// An echo server on a free port.
    fn echo() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let mut s = s.unwrap();
                std::thread::spawn(move || {
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b) {
                        if n == 0 || s.write_all(&b[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    #[test]
    fn holds_bytes_while_frozen_and_delivers_them_after() {
        let proxy = Proxy::start(&format!("127.0.0.1:{}", echo()));
        let mut c = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        let mut b = [0u8; 5];
        c.write_all(b"hello").unwrap();
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"hello");
        proxy.freeze();
        c.write_all(b"world").unwrap();
        c.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let held = c.read(&mut b).unwrap_err();
        assert!(matches!(held.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{held}");
        proxy.pass();
        c.set_read_timeout(None).unwrap();
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"world");
    }

    #[test]
    fn cut_closes_every_connection_and_refuses_new_ones_until_pass() {
        let proxy = Proxy::start(&format!("127.0.0.1:{}", echo()));
        let mut c = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        proxy.cut();
        assert_eq!(c.read(&mut b).unwrap_or(0), 0, "closed");
        let mut again = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        assert_eq!(again.read(&mut b).unwrap_or(0), 0, "a new connection is closed at once");
        proxy.pass();
        let mut fresh = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        fresh.write_all(b"y").unwrap();
        fresh.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"y");
    }
}
