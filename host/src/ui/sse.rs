//! A store's changes as server-sent events: `set`, `delete` and `missed`
//! events with JSON data, from [`Watch`].

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::{Body, Bytes, Frame};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::reply::{self, Response};
use crate::watch::{Event, Watch};

/// A comment line this often keeps proxies and the browser from timing the
/// stream out.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Resolves (`changed` fails) once the server shuts down: every event
/// stream then ends, so that shutting down need not wait for clients that
/// would listen forever.
pub(super) type Stopping = watch::Receiver<()>;

/// The response that streams `changes` until the client goes away or the
/// server shuts down. Returns once the watcher listens, so that a write
/// made after the response began is in it.
pub(super) async fn events(mut changes: Watch, mut stopping: Stopping) -> Response {
    changes.listening().await;
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let _ = tx.send(Bytes::from_static(b": listening\n\n")).await;
        loop {
            let frame = tokio::select! {
                event = changes.next() => match event {
                    Some(event) => encode(&event),
                    None => break,
                },
                () = tokio::time::sleep(KEEP_ALIVE) => Bytes::from_static(b": keep-alive\n\n"),
                () = tx.closed() => break,
                Err(_) = stopping.changed() => break,
            };
            if tx.send(frame).await.is_err() {
                break;
            }
        }
    });
    let mut response = hyper::Response::new(Events(rx).boxed());
    reply::secure(&mut response);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// One change as an event: its name and its data, without the value (the
/// page reads a value it shows again).
fn encode(event: &Event) -> Bytes {
    let (name, data) = match event {
        Event::Set { key, value } => ("set", json!({ "key": key, "size": value.len() })),
        Event::Delete { key } => ("delete", json!({ "key": key })),
        Event::Missed { count } => ("missed", json!({ "count": count })),
    };
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The body: what the watching task sends.
struct Events(mpsc::Receiver<Bytes>);

impl Body for Events {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_json_data_on_one_line() {
        let set = encode(&Event::Set { key: "a\nb".into(), value: vec![1, 2, 3] });
        assert_eq!(&set[..], b"event: set\ndata: {\"key\":\"a\\nb\",\"size\":3}\n\n");
        let missed = encode(&Event::Missed { count: Some(2) });
        assert_eq!(&missed[..], b"event: missed\ndata: {\"count\":2}\n\n");
    }
}
