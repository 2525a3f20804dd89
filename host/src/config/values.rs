//! Scalar formats of the registry: durations, byte sizes, `${env:NAME}`.

use std::time::Duration;

/// Parse `250ms`, `10s`, `5m`, `1h30m` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}); write it like 250ms, 10s, 5m, 1h30m or 0"))
}

/// Parse a byte size: an integer, or a number with a unit (`64MiB`, `512KiB`, `1GB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || format!("`{text}` is not a size; write it like 1048576, 512KiB, 64MiB or 1GiB");
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// Replace every `${env:NAME}` in `text` from the environment.
pub(crate) fn substitute_env(text: &str) -> Result<String, String> {
    const OPEN: &str = "${env:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after.find('}').ok_or_else(|| format!("unterminated `${{env:` in `{text}`; write ${{env:NAME}}"))?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`${{env:{name}}}` is not a valid variable reference"));
        }
        let value = var(name)
            .ok_or_else(|| format!("environment variable {name} is not set (referenced as ${{env:{name}}})"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The environment variable `name`: the process's, or in tests one that
/// [`test_env::set`] gave this thread (so that tests need no `set_var`,
/// which is unsafe while other threads run).
fn var(name: &str) -> Option<String> {
    #[cfg(test)]
    if let Some(value) = test_env::get(name) {
        return Some(value);
    }
    std::env::var(name).ok()
}

/// Variables that `${env:NAME}` sees on the calling thread only, for tests.
#[cfg(test)]
pub(crate) mod test_env {
    use std::cell::RefCell;
    use std::collections::HashMap;

    thread_local! {
        static VARS: RefCell<HashMap<String, String>> = RefCell::default();
    }

    /// Let `${env:NAME}` read `value` on this thread.
    pub(crate) fn set(name: &str, value: &str) {
        VARS.with(|v| v.borrow_mut().insert(name.to_owned(), value.to_owned()));
    }

    pub(super) fn get(name: &str) -> Option<String> {
        VARS.with(|v| v.borrow().get(name).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_spec_form() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").unwrap_err().contains("1h30m"));
    }

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1GB").unwrap(), 1_000_000_000);
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn env_references_are_replaced_and_missing_ones_named() {
        test_env::set("KVHOST_TEST_PW", "s3cret");
        assert_eq!(substitute_env("pw=${env:KVHOST_TEST_PW}!").unwrap(), "pw=s3cret!");
        assert_eq!(substitute_env("no refs $x {y}").unwrap(), "no refs $x {y}");
        let err = substitute_env("${env:KVHOST_SURELY_UNSET_VAR}").unwrap_err();
        assert!(err.contains("KVHOST_SURELY_UNSET_VAR"), "{err}");
        assert!(substitute_env("${env:OOPS").is_err());
    }
}
