//! A guard against hostile registry files, run before the YAML parser: a
//! file too large, or nested deeper than any registry needs, is refused at
//! once with where it goes wrong.
//!
//! Without it, 3 MB of `[` kept the parser busy for 14 s and 490 MB before
//! it reported its recursion limit; the scan below is one pass over the
//! bytes and allocates nothing.

/// The largest registry file read: far beyond any real registry.
pub(super) const MAX_FILE_BYTES: usize = 4 << 20;

/// The deepest flow nesting (`[` and `{`) accepted. A registry entry needs
/// three or four levels; serde_yaml's own limit is 128.
pub(super) const MAX_DEPTH: usize = 64;

/// The text of registry file `path`, read only if its size is within
/// [`MAX_FILE_BYTES`]; else what is wrong.
pub(super) fn read(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut text = String::new();
    // One byte past the limit tells a file too large without reading it all.
    file.take(MAX_FILE_BYTES as u64 + 1).read_to_string(&mut text).map_err(|e| format!("cannot read: {e}"))?;
    if text.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

fn too_large() -> String {
    format!(
        "the file is larger than {MAX_FILE_BYTES} bytes, the most a registry file may be (split it into a folder of files)"
    )
}

/// Why `text` is refused before parsing, if it is.
pub(super) fn check(text: &str) -> Result<(), String> {
    if text.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let mut previous = b'\n';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        column += 1;
        if b == b'\n' {
            (line, column, comment) = (line + 1, 0, false);
        } else if comment {
        } else if let Some(q) = quote {
            if b == b'\\' && q == b'"' {
                i += 1;
                column += 1;
            } else if b == q {
                quote = None;
            }
        } else {
            match b {
                b'#' if previous.is_ascii_whitespace() => comment = true,
                // A quote opens a quoted scalar only where a scalar starts.
                b'\'' | b'"' if matches!(previous, b' ' | b'\t' | b'\n' | b':' | b',' | b'[' | b'{' | b'-') => {
                    quote = Some(b)
                }
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(format!(
                            "nesting deeper than {MAX_DEPTH} levels at line {line}, column {column}; \
                             a registry entry needs a few"
                        ));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        previous = b;
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_deep_flow_nesting_at_once_saying_where() {
        // The scan stops at the first level too deep (column 65), whatever follows.
        let e = check(&"[".repeat(3 << 20)).unwrap_err();
        assert_eq!(e, "nesting deeper than 64 levels at line 1, column 65; a registry entry needs a few");
    }

    #[test]
    fn refuses_a_file_too_large_naming_the_limit() {
        let e = check(&"#".repeat(MAX_FILE_BYTES + 1)).unwrap_err();
        assert!(e.contains("larger than 4194304 bytes"), "{e}");
    }

    #[test]
    fn brackets_inside_quotes_and_comments_do_not_count() {
        let deep = "[".repeat(100);
        let text = format!("a: '{deep}'\nb: \"{deep}\\\"\"\nc: x # {deep}\nd: [[1, {{e: [2]}}]]\nf: it's [fine]\n");
        assert_eq!(check(&text), Ok(()));
    }
}
