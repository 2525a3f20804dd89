//! `kvhost watch`: a store's changes as they happen, as text for people
//! testing guests or as JSON lines for scripts.

use std::io::Write as _;
use std::process::ExitCode;

use base64::Engine as _;
use kvhost::watch::Event;

use crate::store_args::StoreArgs;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  kvhost watch --config registry.yaml app:cache --prefix user:\n  \
                        kvhost watch --config registry.yaml app:cache --json | jq .key")]
pub struct WatchArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// One JSON object per line: {"op":"set","key":...,"value":...,"encoding":"utf8"|"base64"},
    /// {"op":"delete","key":...} or {"op":"missed","count":N|null}.
    #[arg(long)]
    json: bool,
}

pub async fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let (host, bucket) = args.store.open().await?;
    let printed = async {
        let mut changes = bucket.watch(&args.store.prefix)?;
        changes.listening().await;
        let scope = bucket.watch_scope().map_or("", |s| s.as_str());
        eprintln!("watching {} ({scope}){}; Ctrl-C to stop", args.store.store, shown_prefix(&args.store.prefix));
        let mut out = std::io::stdout().lock();
        let mut count = 0u64;
        loop {
            tokio::select! {
                event = changes.next() => match event {
                    Some(event) => {
                        let line = if args.json { json(&event) } else { text(&event) };
                        writeln!(out, "{line}")?;
                        count += 1;
                    }
                    None => anyhow::bail!("store {} stopped", args.store.store),
                },
                () = crate::signal::stopped() => return anyhow::Ok(count),
            }
        }
    }
    .await;
    host.shutdown().await;
    let count = printed?;
    eprintln!("{count} changes");
    Ok(ExitCode::SUCCESS)
}

fn shown_prefix(prefix: &str) -> String {
    if prefix.is_empty() { String::new() } else { format!(", keys starting with {prefix:?}") }
}

/// `set KEY VALUE`, `delete KEY` or `missed ...`: the value as text when it
/// is UTF-8, else as hex; control characters escaped, so that one change is
/// one line.
fn text(event: &Event) -> String {
    match event {
        Event::Set { key, value } => match std::str::from_utf8(value) {
            Ok(text) => format!("set {} {}", escaped(key), escaped(text)),
            Err(_) => format!("set {} 0x{}", escaped(key), hex(value)),
        },
        Event::Delete { key } => format!("delete {}", escaped(key)),
        Event::Missed { count: Some(n) } => format!("missed {n} changes (this watcher fell behind)"),
        Event::Missed { count: None } => "missed changes (the connection to the store's server was lost)".to_owned(),
        _ => format!("{event:?}"),
    }
}

fn escaped(s: &str) -> String {
    if s.chars().any(char::is_control) { s.chars().flat_map(char::escape_default).collect() } else { s.to_owned() }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One change as a JSON line: the operation first, as SPEC.md shows it.
#[derive(serde::Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Line<'a> {
    Set { key: &'a str, value: String, encoding: &'static str },
    Delete { key: &'a str },
    Missed { count: Option<u64> },
}

fn json(event: &Event) -> String {
    let line = match event {
        Event::Set { key, value } => match std::str::from_utf8(value) {
            Ok(text) => Line::Set { key, value: text.to_owned(), encoding: "utf8" },
            Err(_) => {
                Line::Set { key, value: base64::engine::general_purpose::STANDARD.encode(value), encoding: "base64" }
            }
        },
        Event::Delete { key } => Line::Delete { key },
        Event::Missed { count } => Line::Missed { count: *count },
        _ => Line::Missed { count: None },
    };
    serde_json::to_string(&line).expect("a change serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_utf8_values_as_text_and_others_as_hex() {
        let set = |v: &[u8]| Event::Set { key: "k".into(), value: v.to_vec() };
        assert_eq!(text(&set(b"hello")), "set k hello");
        assert_eq!(text(&set(&[0xff, 0x00])), "set k 0xff00");
        assert_eq!(text(&Event::Delete { key: "a\nb".into() }), "delete a\\nb");
    }

    #[test]
    fn json_marks_the_encoding_of_each_value() {
        let set = Event::Set { key: "k".into(), value: vec![0xff] };
        assert_eq!(json(&set), r#"{"op":"set","key":"k","value":"/w==","encoding":"base64"}"#);
        let missed = Event::Missed { count: None };
        assert_eq!(json(&missed), r#"{"op":"missed","count":null}"#);
    }
}
