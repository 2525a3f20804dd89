//! The one place where kvhost's HTTP servers (`kvhost serve`, the metrics
//! endpoint, the key browser) take connections: the cap on open
//! connections, each connection under its watchdog (header and idle
//! timeouts; no limit while a request is answered or its body streamed),
//! the 64 KiB head limit (431), and graceful shutdown within a stop
//! timeout. What a server answers is its own; how long a client may hold
//! a connection is decided here.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::accept::{Acceptor, check_descriptor_limit};
use super::body::Ending;
use super::conn::{Activity, Phase, Watched};
use super::{MAX_HEAD_BYTES, ServeLimits};

/// How one server takes its connections: its bounds on clients, what its
/// connections are called in the log ("key browser connection"), and how
/// long requests in flight may go on once shutdown begins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connections {
    pub(crate) limits: ServeLimits,
    pub(crate) name: &'static str,
    pub(crate) stop_timeout: Duration,
}

impl Connections {
    /// Accept connections on `listener` until `shutdown` resolves, each
    /// request answered by `answer`; then stop accepting, close idle
    /// connections, let responses in flight finish (up to the stop
    /// timeout) and return.
    ///
    /// A connection is closed once it has not sent a whole request head
    /// `header_timeout` after it opened (or after the first byte of its
    /// next request), or has had no request `idle_timeout` after its last
    /// response was written; while a request is being answered, or its
    /// response body is still streaming, nothing here limits it. At
    /// `max_connections` nothing is accepted: new connections wait in the
    /// kernel's backlog until one closes. A head over [`MAX_HEAD_BYTES`]
    /// is answered 431.
    pub(crate) async fn serve<A, F, B>(self, listener: TcpListener, shutdown: impl Future<Output = ()>, answer: A)
    where
        A: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<B>> + Send + 'static,
        B: Body + Send + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Self { limits, name, stop_timeout } = self;
        check_descriptor_limit(name, limits.max_connections);
        let answer = Arc::new(answer);
        let graceful = GracefulShutdown::new();
        let places = Arc::new(Semaphore::new(limits.max_connections as usize));
        let mut acceptor = Acceptor::new(&listener, name);
        tokio::pin!(shutdown);
        loop {
            // At the cap, nothing is accepted: new connections wait in the
            // kernel's backlog until one of ours closes.
            let place = tokio::select! {
                place = places.clone().acquire_owned() => place.expect("the semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let Some((stream, peer)) = acceptor.next(shutdown.as_mut()).await else { break };
            let activity = Activity::new();
            let on_request = activity.clone();
            let answer = answer.clone();
            let service = service_fn(move |request| {
                // Busy from the whole head on, until the response body has
                // ended (`Ending`): no timeout of ours cuts a request that
                // is being answered or a response that is streaming.
                on_request.set(Phase::Busy);
                let activity = on_request.clone();
                let answered = answer(request);
                async move { Ok::<_, Infallible>(answered.await.map(|body| Ending::new(body, activity))) }
            });
            let mut http = http1::Builder::new();
            http.max_buf_size(MAX_HEAD_BYTES);
            let io = TokioIo::new(Watched::new(stream, activity.clone()));
            let connection = graceful.watch(http.serve_connection(io, service));
            tokio::spawn(async move {
                tokio::select! {
                    ended = connection => if let Err(e) = ended {
                        tracing::debug!(%peer, "{name} ended: {e}");
                    },
                    (phase, limit) = activity.expired(&limits) => {
                        let why = if phase == Phase::Head { "no whole request head" } else { "idle" };
                        tracing::debug!(%peer, "{name} closed: {why} for {}", humantime::format_duration(limit));
                    }
                }
                drop(place);
            });
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(stop_timeout) => {
                tracing::warn!(
                    "requests still in flight on {name}s after {}: dropped",
                    humantime::format_duration(stop_timeout)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body_util::Full;
    use hyper::body::{Bytes, Frame};
    use tokio::sync::{mpsc, oneshot};

    use super::*;
    use crate::serve::DEFAULT_STOP_TIMEOUT;

    /// The longest a test waits for the server to answer or close: far
    /// beyond the limits it sets, far below those it does not mean to hit.
    const BOUND: Duration = Duration::from_secs(30);

    const SHORT: Duration = Duration::from_millis(300);

    /// A response body of whatever the test sends, ending when it stops.
    struct Sent(mpsc::UnboundedReceiver<Bytes>);

    impl Body for Sent {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0.poll_recv(cx).map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
        }
    }

    /// A server on a runtime of its own: `GET /stream` streams what
    /// `chunks` sends (once per test), anything else is answered "ok".
    struct Server {
        addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        stopped: std::sync::mpsc::Receiver<()>,
        chunks: mpsc::UnboundedSender<Bytes>,
        _rt: tokio::runtime::Runtime,
    }

    impl Server {
        fn start(limits: ServeLimits, stop_timeout: Duration) -> Self {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
            let addr = listener.local_addr().unwrap();
            let (chunks, stream) = mpsc::unbounded_channel();
            let stream = std::sync::Mutex::new(Some(stream));
            let answer = move |request: Request<Incoming>| {
                let body = match request.uri().path() {
                    "/stream" => {
                        http_body_util::Either::Left(Sent(stream.lock().unwrap().take().expect("one stream per test")))
                    }
                    _ => http_body_util::Either::Right(Full::new(Bytes::from_static(b"ok"))),
                };
                std::future::ready(Response::new(body))
            };
            let (stop, shutdown) = oneshot::channel::<()>();
            let (done, stopped) = std::sync::mpsc::channel();
            let connections = Connections { limits, name: "test connection", stop_timeout };
            rt.spawn(async move {
                connections.serve(listener, async { drop(shutdown.await) }, answer).await;
                let _ = done.send(());
            });
            Self { addr, stop: Some(stop), stopped, chunks, _rt: rt }
        }

        fn connect(&self) -> TcpStream {
            let stream = TcpStream::connect(self.addr).unwrap();
            stream.set_read_timeout(Some(BOUND)).unwrap();
            stream
        }

        /// Begin shutting down; true once `serve` has returned.
        fn shut_down(&mut self) -> bool {
            let _ = self.stop.take().unwrap().send(());
            self.stopped.recv_timeout(BOUND).is_ok()
        }
    }

    fn limits(header_timeout: Duration, idle_timeout: Duration) -> ServeLimits {
        ServeLimits { header_timeout, idle_timeout, ..ServeLimits::default() }
    }

    fn get(path: &str) -> Vec<u8> {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
    }

    /// Everything until the server closes (a reset counts); panics if it
    /// does not within [`BOUND`].
    fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
                Err(e) => panic!("not closed within {BOUND:?} ({e}); got {:?}", String::from_utf8_lossy(&got)),
            }
        }
    }

    /// Read until what has come ends with `end`; what came.
    fn read_until(stream: &mut TcpStream, end: &[u8]) -> String {
        let mut got = Vec::new();
        let mut byte = [0; 1];
        while !got.ends_with(end) {
            match stream.read(&mut byte) {
                Ok(1) => got.push(byte[0]),
                other => panic!("stopped ({other:?}) before {end:?}: {}", String::from_utf8_lossy(&got)),
            }
        }
        String::from_utf8(got).unwrap()
    }

    /// One whole answer of the "ok" route, the connection kept alive.
    fn ok(stream: &mut TcpStream) {
        stream.write_all(&get("/")).unwrap();
        let head = read_until(stream, b"\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(read_until(stream, b"ok"), "ok");
    }

    #[test]
    fn a_connection_that_never_sends_a_whole_head_is_closed_while_others_are_answered() {
        let server = Server::start(limits(SHORT, Duration::from_secs(600)), DEFAULT_STOP_TIMEOUT);
        let mut silent = server.connect();
        let mut half = server.connect();
        half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        ok(&mut server.connect());
        assert_eq!(read_to_close(&mut silent), b"", "closed without an answer");
        assert_eq!(read_to_close(&mut half), b"", "closed without an answer");
    }

    #[test]
    fn a_response_still_streaming_is_not_cut_by_the_idle_or_header_timeout_and_idles_out_once_it_ends() {
        let mut server = Server::start(limits(SHORT, SHORT), DEFAULT_STOP_TIMEOUT);
        let mut streaming = server.connect();
        streaming.write_all(&get("/stream")).unwrap();
        server.chunks.send(Bytes::from_static(b"first")).unwrap();
        read_until(&mut streaming, b"first\r\n");
        // The clock: a connection that went idle after the stream began is
        // closed, so both timeouts have passed for the stream too.
        let mut idle = server.connect();
        ok(&mut idle);
        assert_eq!(read_to_close(&mut idle), b"");
        server.chunks.send(Bytes::from_static(b"second")).unwrap();
        read_until(&mut streaming, b"second\r\n");
        // Once the body ends, the connection is idle and goes like any.
        let (ended, _) = mpsc::unbounded_channel();
        server.chunks = ended;
        read_until(&mut streaming, b"0\r\n\r\n");
        assert_eq!(read_to_close(&mut streaming), b"", "closed once idle");
    }

    #[test]
    fn shutdown_closes_idle_connections_and_waits_for_a_response_in_flight_up_to_the_stop_timeout() {
        let mut server = Server::start(limits(Duration::from_secs(600), Duration::from_secs(600)), SHORT);
        let mut idle = server.connect();
        ok(&mut idle);
        let mut streaming = server.connect();
        streaming.write_all(&get("/stream")).unwrap();
        server.chunks.send(Bytes::from_static(b"first")).unwrap();
        read_until(&mut streaming, b"first\r\n");
        assert!(server.shut_down(), "serve returns though the stream never ends");
        assert_eq!(read_to_close(&mut idle), b"", "an idle connection is closed at once");
        assert!(TcpStream::connect(server.addr).is_err(), "the listener is closed");
    }
}
