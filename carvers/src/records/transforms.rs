//! Digest-guided repair: benign transforms that real damage produces, each accepted only when
//! the bytes it yields have the digest the record wrote down.
//!
//! The transforms are the ones files suffer on the way through mail, version control, copies and
//! carving: CR bytes stripped before LF (or added), slack after the end of the file, a byte order
//! mark lost or gained, and Big5 text re-encoded as UTF-8 (or back). Singles are tried first,
//! then ordered pairs, then each of those cut to the recorded size: a fixed, small number of
//! linear passes, never a search over positions.

use super::DigestAlg;

/// Files larger than this are tried with single transforms only.
pub const MAX_COMBINED: usize = 32 << 20;
/// Files larger than this are not transformed at all (each try copies the file).
pub const MAX_TRANSFORMED: usize = 512 << 20;

/// One benign transform: a name for reports and a function that returns `None` when it would not
/// change the bytes (or does not apply).
struct Step {
    name: &'static str,
    apply: fn(&[u8]) -> Option<Vec<u8>>,
}

const STEPS: [Step; 7] = [
    Step {
        name: "cr-restored",
        apply: cr_restored,
    },
    Step {
        name: "cr-removed",
        apply: cr_removed,
    },
    Step {
        name: "trailing-zeros-cut",
        apply: trailing_zeros_cut,
    },
    Step {
        name: "bom-removed",
        apply: bom_removed,
    },
    Step {
        name: "bom-added",
        apply: bom_added,
    },
    Step {
        name: "reencoded-big5-to-utf8",
        apply: big5_to_utf8,
    },
    Step {
        name: "reencoded-utf8-to-big5",
        apply: utf8_to_big5,
    },
];

/// Find a benign transform of `data` whose digest is `digest`; return its name (steps joined
/// with `+`, in the order applied) and the restored bytes. `None` when the bytes already match,
/// when the algorithm is not computed here, or when nothing proves itself.
pub fn prove(
    data: &[u8],
    recorded_size: Option<u64>,
    alg: DigestAlg,
    digest: &[u8],
) -> Option<(String, Vec<u8>)> {
    if data.len() > MAX_TRANSFORMED || digest.len() != alg.output_len() {
        return None;
    }
    let matches = |b: &[u8]| alg.digest(b).is_some_and(|d| d == digest);
    let cut = |b: &[u8]| -> Option<Vec<u8>> {
        let size = usize::try_from(recorded_size?).ok()?;
        (size < b.len()).then(|| b[..size].to_vec())
    };

    if let Some(c) = cut(data) {
        if matches(&c) {
            return Some(("truncated-to-recorded-size".into(), c));
        }
    }
    let mut singles: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for s in &STEPS {
        if let Some(v) = (s.apply)(data) {
            if matches(&v) {
                return Some((s.name.into(), v));
            }
            singles.push((s.name, v));
        }
    }
    for (name, v) in &singles {
        if let Some(c) = cut(v) {
            if matches(&c) {
                return Some((format!("{name}+truncated-to-recorded-size"), c));
            }
        }
    }
    if data.len() > MAX_COMBINED {
        return None;
    }
    if let Some(c) = cut(data) {
        for s in &STEPS {
            if let Some(v) = (s.apply)(&c) {
                if matches(&v) {
                    return Some((format!("truncated-to-recorded-size+{}", s.name), v));
                }
            }
        }
    }
    for (first, v) in &singles {
        for s in &STEPS {
            if s.name == *first {
                continue;
            }
            if let Some(w) = (s.apply)(v) {
                if matches(&w) {
                    return Some((format!("{first}+{}", s.name), w));
                }
                if let Some(c) = cut(&w) {
                    if matches(&c) {
                        return Some((format!("{first}+{}+truncated-to-recorded-size", s.name), c));
                    }
                }
            }
        }
    }
    None
}

/// Put a CR before every LF that lacks one.
fn cr_restored(d: &[u8]) -> Option<Vec<u8>> {
    let bare = d
        .iter()
        .enumerate()
        .filter(|(i, c)| **c == b'\n' && (*i == 0 || d[i - 1] != b'\r'))
        .count();
    if bare == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(d.len() + bare);
    for (i, c) in d.iter().enumerate() {
        if *c == b'\n' && (i == 0 || d[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*c);
    }
    Some(out)
}

/// Drop the CR of every CR LF pair.
fn cr_removed(d: &[u8]) -> Option<Vec<u8>> {
    if !d.windows(2).any(|w| w == b"\r\n") {
        return None;
    }
    let mut out = Vec::with_capacity(d.len());
    for (i, c) in d.iter().enumerate() {
        if *c == b'\r' && d.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(*c);
    }
    Some(out)
}

/// Cut the zero bytes at the end (cluster slack of a carved or preallocated file).
fn trailing_zeros_cut(d: &[u8]) -> Option<Vec<u8>> {
    let keep = d.iter().rposition(|c| *c != 0).map_or(0, |p| p + 1);
    (keep < d.len()).then(|| d[..keep].to_vec())
}

const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

fn bom_removed(d: &[u8]) -> Option<Vec<u8>> {
    d.strip_prefix(BOM).map(<[u8]>::to_vec)
}

fn bom_added(d: &[u8]) -> Option<Vec<u8>> {
    if d.starts_with(BOM) {
        return None;
    }
    let mut out = Vec::with_capacity(d.len() + 3);
    out.extend_from_slice(BOM);
    out.extend_from_slice(d);
    Some(out)
}

/// Big5 bytes that decode cleanly, written as UTF-8 (only when not already plain ASCII).
fn big5_to_utf8(d: &[u8]) -> Option<Vec<u8>> {
    if d.is_ascii() {
        return None;
    }
    let (s, bad) = encoding_rs::BIG5.decode_without_bom_handling(d);
    (!bad).then(|| s.into_owned().into_bytes())
}

/// UTF-8 text that Big5 can hold, written as Big5.
fn utf8_to_big5(d: &[u8]) -> Option<Vec<u8>> {
    if d.is_ascii() {
        return None;
    }
    let s = std::str::from_utf8(d).ok()?;
    let (b, _, bad) = encoding_rs::BIG5.encode(s);
    (!bad).then(|| b.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha1(b: &[u8]) -> Vec<u8> {
        DigestAlg::Sha1.digest(b).unwrap()
    }

    #[test]
    fn each_transform_proves_itself() {
        let orig = b"line one\r\nline two\r\n".to_vec();
        let d = sha1(&orig);
        let stripped = b"line one\nline two\n";
        assert_eq!(
            prove(stripped, Some(20), DigestAlg::Sha1, &d),
            Some(("cr-restored".into(), orig.clone()))
        );

        let mut slack = orig.clone();
        slack.extend_from_slice(&[0, 0, 0, 7]);
        assert_eq!(
            prove(&slack, Some(20), DigestAlg::Sha1, &d).unwrap().0,
            "truncated-to-recorded-size"
        );
        let mut zeros = orig.clone();
        zeros.extend_from_slice(&[0; 9]);
        assert_eq!(
            prove(&zeros, None, DigestAlg::Sha1, &d).unwrap().0,
            "trailing-zeros-cut"
        );

        let mut both = stripped.to_vec();
        both.extend_from_slice(b"junk");
        assert_eq!(
            prove(&both, Some(20), DigestAlg::Sha1, &d).unwrap().0,
            "cr-restored+truncated-to-recorded-size"
        );

        let big5 = encoding_rs::BIG5.encode("公文\r\n").0.into_owned();
        let utf8 = "公文\r\n".as_bytes();
        assert_eq!(
            prove(utf8, None, DigestAlg::Sha1, &sha1(&big5)).unwrap().0,
            "reencoded-utf8-to-big5"
        );
        assert_eq!(
            prove(&big5, None, DigestAlg::Sha1, &sha1(utf8)).unwrap().0,
            "reencoded-big5-to-utf8"
        );
        let with_bom = [BOM, utf8].concat();
        assert_eq!(
            prove(utf8, None, DigestAlg::Sha1, &sha1(&with_bom))
                .unwrap()
                .0,
            "bom-added"
        );
        assert_eq!(
            prove(&with_bom, None, DigestAlg::Sha1, &sha1(utf8))
                .unwrap()
                .0,
            "bom-removed"
        );
        assert_eq!(
            prove("公文\n".as_bytes(), None, DigestAlg::Sha1, &sha1(&with_bom))
                .unwrap()
                .0,
            "cr-restored+bom-added"
        );
    }

    #[test]
    fn nothing_proves_a_real_change() {
        let d = sha1(b"abc\r\n");
        assert_eq!(prove(b"abd\n", Some(5), DigestAlg::Sha1, &d), None);
        assert_eq!(
            prove(b"abc\n", Some(5), DigestAlg::Md5Unsupported, &d),
            None
        );
    }
}
