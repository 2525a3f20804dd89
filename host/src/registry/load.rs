//! Reading registry files and folders into entries.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::entry::{Entry, Lifecycle, valid_name};
use super::kind::{Kind, keep};
use crate::config::{ConfigError, Fields, Location, substitute_env, type_name};

/// Every `.yaml`/`.yml` file under `path` (or `path` itself), sorted.
/// Hidden folders and `node_modules` are not searched: what they hold is
/// some tool's, not a registry.
pub(crate) fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), ConfigError> {
    let io_err = |e: std::io::Error| ConfigError {
        file: path.to_owned(),
        entry: None,
        field: None,
        message: format!("cannot read: {e}"),
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(io_err)?;
        out.push(path.to_owned());
        return Ok(());
    }
    let mut children: Vec<PathBuf> =
        std::fs::read_dir(path).map_err(io_err)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let is_yaml = matches!(child.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let tools = name.starts_with('.') || name == "node_modules";
        if (child.is_dir() && !tools) || is_yaml {
            collect_files(&child, out)?;
        }
    }
    Ok(())
}

const COMMON_FIELDS: &[&str] = &["name", "kind", "meta", "lifecycle"];

/// One registry file: the entries that are valid, the problems of the
/// others, and its top-level settings.
#[derive(Default)]
pub(crate) struct Parsed {
    pub entries: Vec<Entry>,
    pub errors: Vec<ConfigError>,
    /// `metrics.addr`: where to serve Prometheus metrics.
    pub metrics: Option<std::net::SocketAddr>,
}

/// Parse one registry file. Problems in one entry do not hide problems in
/// the next.
pub(crate) fn parse_file(file: &Path, text: &str) -> Parsed {
    parse_file_inner(file, text).unwrap_or_else(|e| Parsed { errors: vec![e], ..Parsed::default() })
}

fn parse_file_inner(file: &Path, text: &str) -> Result<Parsed, ConfigError> {
    let top_at = Location { file: file.to_owned(), entry: None };
    super::depth::check(text).map_err(|e| top_at.error(None, e))?;
    let doc: Value = serde_yaml::from_str(text).map_err(|e| top_at.error(None, format!("not valid YAML: {e}")))?;
    let mut top = Fields::new(doc, top_at.clone(), "")?;
    let header = (|| {
        match top.take("version") {
            None => {}
            Some(Value::String(v)) if v == "1.0" || v == "1" => {}
            Some(Value::Number(n)) if n.as_f64() == Some(1.0) => {}
            Some(other) => {
                let shown = serde_yaml::to_string(&other).unwrap_or_default();
                return Err(
                    top.error("version", format!("unsupported version {}; this build reads \"1.0\"", shown.trim()))
                );
            }
        }
        let namespace = top.required_string("namespace")?;
        if !valid_name(&namespace) {
            return Err(
                top.error("namespace", format!("`{namespace}` is not a valid namespace (letters, digits, _ - .)"))
            );
        }
        let entries = match top.take("entries") {
            Some(Value::Sequence(items)) => items,
            Some(other) => return Err(top.error("entries", format!("expected a list, got {}", type_name(&other)))),
            None => return Err(top.error("entries", "is required (a list of entries)")),
        };
        Ok((namespace, entries))
    })();
    let (namespace, items) = header?;
    let metrics = top.listen_addr("metrics", "127.0.0.1:9090")?;
    top.finish(&["version", "namespace", "entries", "metrics"])?;

    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        // An entry with problems that could still be read is kept, so that
        // the checks across entries report its other problems too; the
        // registry as a whole fails on any problem.
        match parse_entry(file, &namespace, i, item, &mut errors) {
            Ok(e) => entries.push(e),
            Err(e) => errors.push(e),
        }
    }
    Ok(Parsed { entries, errors, metrics })
}

/// One entry; problems that leave it readable go to `problems`.
fn parse_entry(
    file: &Path,
    namespace: &str,
    index: usize,
    mut item: Value,
    problems: &mut Vec<ConfigError>,
) -> Result<Entry, ConfigError> {
    let mut at = Location { file: file.to_owned(), entry: Some(format!("{namespace}:<entries[{index}]>")) };
    let name = match item.get("name") {
        Some(Value::String(n)) if valid_name(n) => n.clone(),
        Some(Value::String(n)) => {
            return Err(at.error(Some("name"), format!("`{n}` is not a valid name (letters, digits, _ - .)")));
        }
        Some(other) => return Err(at.error(Some("name"), format!("expected a string, got {}", type_name(other)))),
        None if !item.is_mapping() => {
            return Err(at.error(None, format!("expected a mapping, got {}", type_name(&item))));
        }
        None => return Err(at.error(Some("name"), "is required")),
    };
    let id = format!("{namespace}:{name}");
    at.entry = Some(id.clone());
    substitute_all(&mut item, "").map_err(|(field, msg)| at.error(Some(&field), msg))?;

    let mut f = Fields::new(item, at, "")?;
    f.take("name");
    f.take("meta");
    let kind_name = f.required_string("kind")?;
    let lifecycle = keep(problems, f.nested("lifecycle").and_then(Lifecycle::parse));
    let (kind, kind_fields) = Kind::parse(&kind_name, &mut f, file, problems)?;
    let known: Vec<&str> = COMMON_FIELDS.iter().chain(&kind_fields).copied().collect();
    keep(problems, f.finish(&known));
    Ok(Entry { id, file: file.to_owned(), lifecycle, kind })
}

/// Replace `${env:NAME}` in every string of `value`; on error, the field's path.
fn substitute_all(value: &mut Value, path: &str) -> Result<(), (String, String)> {
    match value {
        Value::String(s) if s.contains("${") => {
            *s = substitute_env(s).map_err(|m| (path.to_owned(), m))?;
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                substitute_all(v, &format!("{path}[{i}]"))?;
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.as_str().unwrap_or("?");
                let child = if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
                substitute_all(v, &child)?;
            }
        }
        _ => {}
    }
    Ok(())
}
