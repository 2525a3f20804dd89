//! Two `kvhost run` processes whose guests keep writing while a test breaks
//! the server under them: the harness the restart tests share.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use crate::{kvhost_bin, rust_guest};

/// The key prefixes the two writers use.
pub const WRITERS: [&str; 2] = ["a:", "b:"];

/// What one writer saw: the indices acknowledged, and the errors (each
/// starting with the index it was for).
#[derive(Debug, Default)]
pub struct Seen {
    pub acked: Vec<u64>,
    pub errors: Vec<String>,
}

impl Seen {
    /// The index of the last write refused, 0 if none was.
    pub fn last_error(&self) -> u64 {
        self.errors.last().map_or(0, |e| e.split(' ').next().unwrap().parse().unwrap())
    }

    /// The writes acknowledged after the last refusal: after the outage.
    pub fn acked_after_outage(&self) -> impl Iterator<Item = u64> + '_ {
        let last = self.last_error();
        self.acked.iter().copied().filter(move |&i| i > last)
    }
}

/// Run the Rust guest's `write-until PREFIX writes` in two `kvhost run`
/// processes on `registry`'s store `app:kv`, call `fault` once the first has
/// `fault_after` writes acknowledged, and return what each writer saw once
/// both have finished (each must exit successfully).
pub fn write_through_fault(
    registry: &Path,
    writes: u64,
    fault_after: u64,
    fault: impl FnOnce(),
) -> Vec<(&'static str, Seen)> {
    let guest = rust_guest();
    let (progress, first_acks) = mpsc::channel::<u64>();
    let writers: Vec<_> = WRITERS
        .into_iter()
        .enumerate()
        .map(|(n, prefix)| {
            let mut child = Command::new(kvhost_bin())
                .args(["run", "--config", registry.to_str().unwrap(), "--default-store", "app:kv", "--timeout", "5m"])
                .args([guest.to_str().unwrap(), "write-until", prefix, &writes.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let progress = (n == 0).then(|| progress.clone());
            thread::spawn(move || {
                let mut seen = Seen::default();
                for line in BufReader::new(stdout).lines() {
                    let line = line.unwrap();
                    if let Some(i) = line.strip_prefix("ack ") {
                        seen.acked.push(i.parse().unwrap());
                        if let Some(p) = &progress {
                            let _ = p.send(seen.acked.len() as u64);
                        }
                    } else if let Some(err) = line.strip_prefix("err ") {
                        seen.errors.push(err.to_owned());
                    }
                }
                let status = child.wait().unwrap();
                assert!(status.success(), "writer {prefix} failed: {status}");
                (prefix, seen)
            })
        })
        .collect();
    drop(progress);
    for acked in first_acks.iter() {
        if acked >= fault_after {
            fault();
            break;
        }
    }
    let results: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    for (prefix, seen) in &results {
        assert_eq!(seen.acked.len() as u64, writes, "writer {prefix} recovered and finished");
        for e in &seen.errors {
            assert!(e.contains("unavailable"), "writer {prefix}: an outage must read as unavailable, got {e:?}");
        }
    }
    assert!(results.iter().any(|(_, s)| !s.errors.is_empty()), "the fault was not seen by either writer");
    results
}
