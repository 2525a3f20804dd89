//! PostgreSQL: the trigger that publishes every change to a store's table
//! with `pg_notify`, and the payloads it sends.
//!
//! Mechanism (checked on PostgreSQL 15, the server of this project's CI):
//! an `AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW` trigger on the
//! table calls `pg_notify(channel, payload)`. It runs inside the statement
//! that writes the row, so every write path publishes with no code of its
//! own (set's upsert, the arrays of set-many and delete-many, delete, clear,
//! the cleanup of expired rows, the locked read-modify-write of put and
//! increment) and so do other programs writing the table. PostgreSQL
//! delivers a transaction's notifications when it commits, and
//! notifications of different transactions in commit order; two writers of
//! one key are ordered by its row lock, so a listener sees one key's
//! changes in the order they were committed. An upsert fires the AFTER
//! INSERT trigger when it inserts and the AFTER UPDATE one when it
//! updates, so each written row publishes once. A rolled-back write
//! publishes nothing. Every host listening on the channel sees every
//! change: the feed is `shared`.
//!
//! Limits, as PostgreSQL has them:
//! - a payload must be shorter than 8000 bytes: a set whose key and
//!   base64 value would not fit sends the key alone (`l`), and the listener
//!   reads the row's value when it receives it, so its watchers may see a
//!   later value than the one written (or a delete if the row is gone by
//!   then); a change to a key longer than 7000 bytes cannot be named at all
//!   and reaches watchers as `Missed { count: None }`, as does a TRUNCATE
//!   of the table (a statement trigger);
//! - within one transaction, notifications with the same payload are
//!   delivered once: kvhost never writes one key twice in a transaction,
//!   but another program that sets a key to `a`, `b`, `a` in one
//!   transaction makes watchers see `a`, `b`;
//! - sessions with `session_replication_role = replica` (logical
//!   replication apply) fire no triggers, so their writes are not seen;
//! - the channel is named from the table alone: two tables of one name in
//!   different schemas of one database share a channel, so give them
//!   different names.
//!
//! Payloads: `s<key bytes>:<key><base64 value>` (a set), `l<key bytes>:<key>`
//! (a set of a large value), `d<key bytes>:<key>` (a delete), `o` (changes
//! that could not be named).

#![cfg_attr(not(feature = "postgres"), allow(dead_code))]

use base64::Engine as _;

use super::TableNames;
use super::dialect::Dialect;

/// The trigger on the table's rows, and the one on TRUNCATE.
pub(crate) const ROW_TRIGGER: &str = "kvhost_watch";
pub(crate) const TRUNCATE_TRIGGER: &str = "kvhost_watch_truncate";

/// Keys longer than this are not named in a payload.
const MAX_NAMED_KEY: usize = 7000;

/// The channel of a table, also the name of its trigger function:
/// `kvhost_watch_<table>`, or, past PostgreSQL's 63 bytes, the table's
/// first 33 bytes and a hash of the whole name.
pub(crate) fn channel(table: &str) -> String {
    let plain = format!("kvhost_watch_{table}");
    if plain.len() <= 63 {
        return plain;
    }
    // Validated names are ASCII: any byte index is a char boundary.
    format!("kvhost_watch_{}_{:016x}", &table[..33], super::value_version(table.as_bytes()))
}

/// The body of the trigger function, as `pg_proc.prosrc` holds it: what
/// [`installed`] compares to know whether the trigger is current.
pub(crate) fn function_body(names: &TableNames) -> String {
    let q = |c: &str| Dialect::Postgres.quote(c);
    let (k, v) = (q(&names.key), q(&names.value));
    let ch = channel(&names.table);
    format!(
        "
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('{ch}', 'o');
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.{k} IS DISTINCT FROM NEW.{k}) THEN
        IF octet_length(OLD.{k}) > {MAX_NAMED_KEY} THEN
            PERFORM pg_notify('{ch}', 'o');
        ELSE
            PERFORM pg_notify('{ch}', 'd' || octet_length(OLD.{k}) || ':' || OLD.{k});
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF octet_length(NEW.{k}) + octet_length(NEW.{v}) * 138 / 100 < 7800 THEN
            PERFORM pg_notify('{ch}', 's' || octet_length(NEW.{k}) || ':' || NEW.{k} || encode(NEW.{v}, 'base64'));
        ELSIF octet_length(NEW.{k}) > {MAX_NAMED_KEY} THEN
            PERFORM pg_notify('{ch}', 'o');
        ELSE
            PERFORM pg_notify('{ch}', 'l' || octet_length(NEW.{k}) || ':' || NEW.{k});
        END IF;
    END IF;
    RETURN NULL;
END
"
    )
}

/// The DDL that installs the trigger: its function and the two triggers,
/// each idempotent (`CREATE OR REPLACE`, PostgreSQL 14 or later).
pub(crate) fn ddl(names: &TableNames) -> Vec<String> {
    let t = Dialect::Postgres.quote(&names.table);
    let f = Dialect::Postgres.quote(&channel(&names.table));
    vec![
        format!(
            "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $kvhost${}$kvhost$",
            function_body(names)
        ),
        format!(
            "CREATE OR REPLACE TRIGGER \"{ROW_TRIGGER}\" AFTER INSERT OR UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {f}()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER \"{TRUNCATE_TRIGGER}\" AFTER TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {f}()"
        ),
    ]
}

/// Lists the table's kvhost triggers: name, enabled flag, function body.
/// Bind the quoted table name.
pub(crate) const INSTALLED: &str = "SELECT t.tgname::text, t.tgenabled::text, p.prosrc FROM pg_trigger t \
     JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = to_regclass($1) AND NOT t.tgisinternal";

/// Whether the rows [`INSTALLED`] returned show both triggers enabled and
/// calling the current function.
pub(crate) fn installed(rows: &[(String, String, String)], names: &TableNames) -> bool {
    let body = function_body(names);
    [ROW_TRIGGER, TRUNCATE_TRIGGER]
        .iter()
        .all(|want| rows.iter().any(|(name, enabled, src)| name == want && enabled != "D" && *src == body))
}

/// One notification, decoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Payload<'a> {
    Set {
        key: &'a str,
        value: Vec<u8>,
    },
    /// A set whose value did not fit: read the row.
    Large {
        key: &'a str,
    },
    Delete {
        key: &'a str,
    },
    /// Changes that could not be named (a very long key, TRUNCATE).
    Unnamed,
}

/// Decode a payload; `None` if it is not one the trigger sends.
pub(crate) fn parse(payload: &str) -> Option<Payload<'_>> {
    let op = *payload.as_bytes().first()?;
    if op == b'o' {
        return Some(Payload::Unnamed);
    }
    let rest = &payload[1..];
    let colon = rest.find(':')?;
    let len: usize = rest[..colon].parse().ok()?;
    let body = &rest[colon + 1..];
    let key = body.get(..len)?;
    let tail = &body[len..];
    match op {
        b's' => {
            // PostgreSQL's base64 breaks lines every 76 characters.
            let clean: String = tail.chars().filter(|c| *c != '\n').collect();
            let value = base64::engine::general_purpose::STANDARD.decode(clean).ok()?;
            Some(Payload::Set { key, value })
        }
        b'l' if tail.is_empty() => Some(Payload::Large { key }),
        b'd' if tail.is_empty() => Some(Payload::Delete { key }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_fit_postgres_identifiers_and_differ_per_table() {
        assert_eq!(channel("kv_store"), "kvhost_watch_kv_store");
        let (a, b) = ("a".repeat(63), format!("{}b", "a".repeat(62)));
        assert!(channel(&a).len() <= 63 && channel(&b).len() <= 63);
        assert_ne!(channel(&a), channel(&b));
    }

    #[test]
    fn payloads_decode_keys_with_colons_and_multibyte_characters() {
        assert_eq!(parse("s4:é:xaGk="), Some(Payload::Set { key: "é:x", value: b"hi".to_vec() }));
        assert_eq!(parse("s1:k"), Some(Payload::Set { key: "k", value: vec![] }));
        assert_eq!(parse("d3:a:b"), Some(Payload::Delete { key: "a:b" }));
        assert_eq!(parse("l3:big"), Some(Payload::Large { key: "big" }));
        assert_eq!(parse("o"), Some(Payload::Unnamed));
        let long = "QUFB".repeat(30);
        let wrapped = format!("s1:k{}\n{}", &long[..76], &long[76..]);
        assert_eq!(parse(&wrapped), Some(Payload::Set { key: "k", value: b"AAA".repeat(30) }));
    }

    #[test]
    fn foreign_payloads_are_refused() {
        for bad in ["", "x1:k", "s9:k", "d1:kk", "s:k", "s1k", "s3:é"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_trigger_names_the_configured_columns() {
        let names = TableNames { key: "k".into(), value: "v".into(), ..TableNames::new("t") };
        let ddl = ddl(&names).join(";\n");
        assert!(ddl.contains("NEW.\"k\"") && ddl.contains("encode(NEW.\"v\", 'base64')"), "{ddl}");
        assert!(ddl.contains("ON \"t\" FOR EACH ROW EXECUTE FUNCTION \"kvhost_watch_t\"()"), "{ddl}");
    }
}
