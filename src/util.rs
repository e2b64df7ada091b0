//! Small helpers shared by the engine.

use std::fmt::Write;

/// Lower-case hexadecimal of a byte slice.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Parse a size such as `4096`, `64K`, `16M`, `5G` or `1T` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (t, 1u64),
        Some((i, _)) => {
            let unit = t[i..].trim().to_ascii_uppercase();
            let m = match unit.trim_end_matches("IB").trim_end_matches('B') {
                "" => 1,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                "T" => 1 << 40,
                _ => return Err(format!("unknown size unit in {text:?} (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
    };
    let n: u64 = num.parse().map_err(|_| format!("not a size: {text:?}"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {text:?}"))
}

/// A size of at least one byte (`0` is refused rather than given a special meaning).
pub fn parse_positive_size(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err("must be at least 1 byte".to_owned()),
        n => Ok(n),
    }
}

/// A chunk size: at least 4 KiB, so that per-chunk work stays small beside the reading.
pub fn parse_chunk_size(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        n if n < 4096 => Err("must be at least 4K".to_owned()),
        n => Ok(n),
    }
}

/// A worker count from 1 to 256.
pub fn parse_threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n @ 1..=256) => Ok(n),
        _ => Err(format!("{text:?} is not a thread count from 1 to 256")),
    }
}

/// A ratio of at least 1.
pub fn parse_ratio(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{text:?} is not a ratio of at least 1")),
    }
}

/// Escape text from evidence for a terminal line: control characters become escapes.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Current UTC time in RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("5G"), Ok(5 << 30));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
    }
}
