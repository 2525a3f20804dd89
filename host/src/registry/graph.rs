//! References between entries: dangling ones, wrong kinds, cycles, start order.

use std::collections::{HashMap, HashSet};

use super::entry::Entry;
use super::kind::Kind;
use crate::config::{ConfigError, Location};

/// The entries `entry` depends on: (field, target ID).
pub(crate) fn dependencies(entry: &Entry) -> Vec<(String, &str)> {
    let mut deps: Vec<(String, &str)> = entry
        .lifecycle
        .requires
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("lifecycle.requires[{i}]"), id.as_str()))
        .collect();
    deps.extend(entry.kind.references());
    deps
}

fn at(entry: &Entry) -> Location {
    Location { file: entry.file.clone(), entry: Some(entry.id.clone()) }
}

/// Check that every reference names an entry of a fitting kind.
pub(crate) fn check_references(
    entries: &[Entry],
    by_id: &HashMap<String, usize>,
    broken: &HashSet<&str>,
) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for entry in entries {
        for (field, target) in dependencies(entry) {
            let Some(&t) = by_id.get(target) else {
                if broken.contains(target) {
                    continue;
                }
                let hint = suggestion(target, &entry.id, by_id);
                errors.push(at(entry).error(
                    Some(&field),
                    format!("refers to `{target}`, which no loaded registry file declares{hint}"),
                ));
                continue;
            };
            let target_kind = &entries[t].kind;
            if let (Kind::Store(store), "database") = (&entry.kind, field.as_str()) {
                let fits = store.kind.databases.contains(&target_kind.name());
                if !fits {
                    errors.push(at(entry).error(
                        Some(&field),
                        format!(
                            "`{target}` is a {}, not a database a {} lives in ({})",
                            target_kind.name(),
                            store.kind.name,
                            store.kind.databases.join(", ")
                        ),
                    ));
                }
            }
            let wants_store = field.starts_with("stores[") || field == "default_store";
            if wants_store && !target_kind.is_store() {
                errors.push(
                    at(entry).error(Some(&field), format!("`{target}` is a {}, not a store", target_kind.name())),
                );
            }
        }
    }
    errors
}

fn suggestion(target: &str, from: &str, by_id: &HashMap<String, usize>) -> String {
    let namespace = from.split(':').next().unwrap_or_default();
    let name = target.rsplit(':').next().unwrap_or(target);
    let guess = format!("{namespace}:{name}");
    if guess != target && by_id.contains_key(&guess) {
        format!("; did you mean `{guess}`?")
    } else if !target.contains(':') {
        "; references are full IDs, namespace:name".to_owned()
    } else {
        String::new()
    }
}

/// Report stores of one database whose data would overlap (one's `clear`
/// emptying the other), at the later of the two.
pub(crate) fn check_overlaps(entries: &[Entry]) -> Vec<ConfigError> {
    let stores: Vec<(&Entry, &super::kind::StoreEntry)> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Store(s) if s.database.is_some() => Some((e, s)),
            _ => None,
        })
        .collect();
    let mut errors = Vec::new();
    for (i, (entry, store)) in stores.iter().enumerate() {
        for (earlier, other) in &stores[..i] {
            if other.database != store.database {
                continue;
            }
            if let Some(e) = store.config.overlaps(&entry.id, &earlier.id, &*other.config) {
                errors.push(at(entry).error(Some(&e.field), e.message));
            }
        }
    }
    errors
}

/// Report every dependency cycle once, at the entry where it closes.
pub(crate) fn check_cycles(entries: &[Entry], by_id: &HashMap<String, usize>) -> Vec<ConfigError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        i: usize,
        entries: &[Entry],
        by_id: &HashMap<String, usize>,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        errors: &mut Vec<ConfigError>,
    ) {
        marks[i] = Mark::Open;
        stack.push(i);
        for (field, target) in dependencies(&entries[i]) {
            let Some(&t) = by_id.get(target) else { continue };
            match marks[t] {
                Mark::New => visit(t, entries, by_id, marks, stack, errors),
                Mark::Open => {
                    let from = stack.iter().position(|&s| s == t).unwrap_or(0);
                    let mut path: Vec<&str> = stack[from..].iter().map(|&s| entries[s].id.as_str()).collect();
                    path.push(target);
                    errors
                        .push(at(&entries[i]).error(Some(&field), format!("dependency cycle: {}", path.join(" -> "))));
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[i] = Mark::Done;
    }
    let mut marks = vec![Mark::New; entries.len()];
    let mut errors = Vec::new();
    for i in 0..entries.len() {
        if marks[i] == Mark::New {
            visit(i, entries, by_id, &mut marks, &mut Vec::new(), &mut errors);
        }
    }
    errors
}

/// `roots` and everything they depend on, dependencies first. The graph is acyclic.
pub(crate) fn start_order(entries: &[Entry], by_id: &HashMap<String, usize>, roots: &[usize]) -> Vec<usize> {
    fn visit(i: usize, entries: &[Entry], by_id: &HashMap<String, usize>, seen: &mut [bool], out: &mut Vec<usize>) {
        if std::mem::replace(&mut seen[i], true) {
            return;
        }
        for (_, target) in dependencies(&entries[i]) {
            if let Some(&t) = by_id.get(target) {
                visit(t, entries, by_id, seen, out);
            }
        }
        out.push(i);
    }
    let mut seen = vec![false; entries.len()];
    let mut out = Vec::new();
    for &r in roots {
        visit(r, entries, by_id, &mut seen, &mut out);
    }
    out
}
