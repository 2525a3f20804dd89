//! Typed, consuming access to a YAML mapping, with errors that name the field.
//!
//! Each accessor removes its key; [`Fields::finish`] then reports whatever is
//! left as an unknown field, so typos never pass silently.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::error::{ConfigError, Location};
use super::values::{parse_duration, parse_size};

type Result<T> = std::result::Result<T, ConfigError>;

pub(crate) struct Fields {
    map: Mapping,
    at: Location,
    /// Dotted path of this mapping inside the entry (`lifecycle.`), or empty.
    prefix: String,
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

impl Fields {
    pub(crate) fn new(value: Value, at: Location, prefix: &str) -> Result<Self> {
        match value {
            Value::Mapping(map) => Ok(Self { map, at, prefix: prefix.to_owned() }),
            other => {
                let field = prefix.trim_end_matches('.');
                let field = (!field.is_empty()).then_some(field);
                Err(at.error(field, format!("expected a mapping, got {}", type_name(&other))))
            }
        }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub(crate) fn error(&self, name: &str, message: impl Into<String>) -> ConfigError {
        self.at.error(Some(&self.path(name)), message)
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    fn wrong(&self, name: &str, want: &str, got: &Value) -> ConfigError {
        self.error(name, format!("expected {want}, got {}", type_name(got)))
    }

    pub(crate) fn string(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(name, "a string", &other)),
        }
    }

    /// `{addr: IP:PORT}` under `name`, if present: an address to listen
    /// on (`example` shows one in the error).
    pub(crate) fn listen_addr(&mut self, name: &str, example: &str) -> Result<Option<std::net::SocketAddr>> {
        let Some(mut f) = self.nested(name)? else { return Ok(None) };
        let addr = f.required_string("addr")?;
        let parsed = addr.parse().map_err(|_| {
            f.error("addr", format!("`{addr}` is not an address to listen on: expected IP:PORT such as {example}"))
        })?;
        f.finish(&["addr"])?;
        Ok(Some(parsed))
    }

    pub(crate) fn required_string(&mut self, name: &str) -> Result<String> {
        match self.string(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.error(name, "must not be empty")),
            None => Err(self.error(name, "is required")),
        }
    }

    pub(crate) fn u64(&mut self, name: &str) -> Result<Option<u64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
                (Some(v), _) => Ok(Some(v)),
                (None, Some(v)) if v < 0 => Err(self.error(name, format!("must not be negative, got {v}"))),
                _ => Err(self.error(name, format!("expected a whole number, got {n}"))),
            },
            Some(other) => Err(self.wrong(name, "a whole number", &other)),
        }
    }

    pub(crate) fn u32(&mut self, name: &str) -> Result<Option<u32>> {
        match self.u64(name)? {
            None => Ok(None),
            Some(v) => u32::try_from(v)
                .map(Some)
                .map_err(|_| self.error(name, format!("{v} is too large (at most {})", u32::MAX))),
        }
    }

    #[cfg_attr(not(any(feature = "sql", feature = "redis")), allow(dead_code))]
    pub(crate) fn port(&mut self, name: &str) -> Result<Option<u16>> {
        match self.u64(name)? {
            None => Ok(None),
            Some(v) => u16::try_from(v)
                .ok()
                .filter(|&p| p > 0)
                .map(Some)
                .ok_or_else(|| self.error(name, format!("{v} is not a TCP port (1-65535)"))),
        }
    }

    pub(crate) fn bool(&mut self, name: &str) -> Result<Option<bool>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong(name, "true or false", &other)),
        }
    }

    pub(crate) fn duration(&mut self, name: &str) -> Result<Option<Duration>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => parse_duration(&s).map(Some).map_err(|m| self.error(name, m)),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(Duration::ZERO)),
            Some(other) => Err(self.wrong(name, "a duration such as \"10s\"", &other)),
        }
    }

    pub(crate) fn size(&mut self, name: &str) -> Result<Option<u64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) => Ok(Some(v)),
                None => Err(self.error(name, format!("must be a non-negative size, got {n}"))),
            },
            Some(Value::String(s)) => parse_size(&s).map(Some).map_err(|m| self.error(name, m)),
            Some(other) => Err(self.wrong(name, "a size such as \"64MiB\"", &other)),
        }
    }

    pub(crate) fn string_list(&mut self, name: &str) -> Result<Vec<String>> {
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    other => Err(self.wrong(&format!("{name}[{i}]"), "a string", &other)),
                })
                .collect(),
            Some(other) => Err(self.wrong(name, "a list of strings", &other)),
        }
    }

    /// A map of strings; scalar numbers and booleans are accepted as their text.
    pub(crate) fn string_map(&mut self, name: &str) -> Result<BTreeMap<String, String>> {
        match self.take(name) {
            None => Ok(BTreeMap::new()),
            Some(Value::Mapping(map)) => map
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s,
                        other => return Err(self.wrong(name, "string keys", &other)),
                    };
                    let value = match v {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => return Err(self.wrong(&format!("{name}.{key}"), "a string", &other)),
                    };
                    Ok((key, value))
                })
                .collect(),
            Some(other) => Err(self.wrong(name, "a mapping of strings", &other)),
        }
    }

    /// A nested mapping, such as `lifecycle` or `pool`.
    pub(crate) fn nested(&mut self, name: &str) -> Result<Option<Fields>> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => self.nested_value(name, v).map(Some),
        }
    }

    /// `value`, already taken from the field `name` (`stores[0]`), as a mapping.
    pub(crate) fn nested_value(&self, name: &str, value: Value) -> Result<Fields> {
        Fields::new(value, self.at.clone(), &self.path(&format!("{name}.")))
    }

    /// Fail on any field no accessor took.
    pub(crate) fn finish(self, known: &[&str]) -> Result<()> {
        match self.map.into_iter().next() {
            None => Ok(()),
            Some((k, _)) => {
                let name = match &k {
                    Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                Err(self.at.error(
                    Some(&format!("{}{name}", self.prefix)),
                    format!("unknown field; expected one of: {}", known.join(", ")),
                ))
            }
        }
    }
}
