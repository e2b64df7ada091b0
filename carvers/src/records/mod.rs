//! Electronic-record packages: Taiwanese signing records (SI), archival encapsulations
//! (電子封裝檔 and kin), DI documents, SW exchange lists, the `.dsicdp` container, and VERS
//! Encapsulated Objects (VEO v2 XML, VEO v3 ZIP).
//!
//! Everything here is pure: bytes in, reports out. Files a record refers to are fetched through
//! [`ComponentSource`], which the engine implements over a folder, a ZIP or a `.dsicdp`.

pub mod c14n;
pub mod carve;
pub mod crypto;
pub mod dsicdp;
pub mod tokenizer;
pub mod transforms;
pub mod tw;
pub mod veo;
mod veo_scan;
mod veo_v3;
pub mod xml;
pub mod xmldsig;

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// The four words a verification ends in, for a record, a signature or a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every digest and signature holds on the bytes as they are.
    Authentic,
    /// Holds after a named benign transform (CR restored, slack cut, BOM added...).
    Equivalent,
    /// The structure was restored but the proof was lost (no digest or signature holds).
    RepairedNotAuthentic,
    /// Does not hold and could not be restored.
    Broken,
}

impl Verdict {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Authentic => "authentic",
            Verdict::Equivalent => "equivalent",
            Verdict::RepairedNotAuthentic => "repaired-not-authentic",
            Verdict::Broken => "broken",
        }
    }

    /// The verdict of a whole made of parts: the worst part decides.
    pub fn combine(self, other: Verdict) -> Verdict {
        self.max(other)
    }

    /// The verdict of a whole made of these parts (`Authentic` when there are none).
    pub fn worst<I: IntoIterator<Item = Verdict>>(parts: I) -> Verdict {
        parts.into_iter().fold(Verdict::Authentic, Verdict::combine)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A digest algorithm a record may name for a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestAlg {
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
    /// MD5 (BagIt manifests only).
    Md5Unsupported,
}

impl DigestAlg {
    /// Recognise an xmldsig DigestMethod URI or a plain name (`SHA-1`, `sha256`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        let n: String = name
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| *c != '-')
            .collect();
        if n.ends_with("sha1") {
            Some(DigestAlg::Sha1)
        } else if n.ends_with("sha256") {
            Some(DigestAlg::Sha256)
        } else if n.ends_with("sha512") {
            Some(DigestAlg::Sha512)
        } else if n.ends_with("md5") {
            Some(DigestAlg::Md5Unsupported)
        } else {
            None
        }
    }

    /// The digest of `data`, or `None` for an algorithm this crate does not compute.
    pub fn digest(self, data: &[u8]) -> Option<Vec<u8>> {
        use sha2::Digest as _;
        match self {
            DigestAlg::Sha1 => Some(sha1::Sha1::digest(data).to_vec()),
            DigestAlg::Sha256 => Some(sha2::Sha256::digest(data).to_vec()),
            DigestAlg::Sha512 => Some(sha2::Sha512::digest(data).to_vec()),
            DigestAlg::Md5Unsupported => None,
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlg::Sha1 => 20,
            DigestAlg::Sha256 => 32,
            DigestAlg::Sha512 => 64,
            DigestAlg::Md5Unsupported => 16,
        }
    }
}

/// Where the files a record names are fetched from: a folder, a ZIP, a `.dsicdp`, or nothing.
pub trait ComponentSource {
    /// The bytes of the file a record names by `uri` (a relative path as written in the record),
    /// `Ok(None)` when there is no such file, `Err` with a message when it exists but cannot be
    /// read.
    fn fetch(&self, uri: &str) -> Result<Option<Cow<'_, [u8]>>, String>;

    /// A short description for reports (`folder /x/y`, `zip a.zip`, ...).
    fn describe(&self) -> String;
}

/// A source with no files: verifying a record found alone (a carved record, say).
pub struct NoComponents;

impl ComponentSource for NoComponents {
    fn fetch(&self, _uri: &str) -> Result<Option<Cow<'_, [u8]>>, String> {
        Ok(None)
    }
    fn describe(&self) -> String {
        "no component files".into()
    }
}

/// One entry of a manifest: a file a record lists with its size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestEntry {
    /// The name as the manifest writes it.
    pub name: String,
    /// The recorded size in bytes, when the manifest records one.
    pub size: Option<u64>,
    /// The digest algorithm.
    pub alg: DigestAlg,
    /// The recorded digest.
    #[serde(serialize_with = "hex_bytes")]
    pub digest: Vec<u8>,
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

/// Bytes as lowercase hexadecimal, the form every digest takes in the reports.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A place in the record's bytes and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Byte offset in the record (or in the file named by `file`) where it was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The file concerned, when it is not the record itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

/// A signature and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// The signature's `Id`, or another name that locates it (`vers:Signature #1`).
    pub id: String,
    /// The signature algorithm as the record names it.
    pub algorithm: String,
    /// `authentic` when the signature value holds over the signed bytes as they are,
    /// `equivalent` when it holds only after a named variant of those bytes, else `broken`.
    pub verdict: Verdict,
    /// The canonicalization or byte variant under which it held (or the last one tried).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The signer's certificate, when one is embedded and readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<crypto::CertInfo>,
    /// Whether the signing time (or the check time, when none is recorded) lies inside the
    /// certificate's validity; `None` when not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_validity: Option<bool>,
    /// What was checked and what failed, in words.
    pub detail: String,
    /// Byte offset of the signature element in the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// An internal reference (`URI="#Id"`) of a signature, and whether its digest holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceReport {
    /// The signature it belongs to.
    pub signature: String,
    /// The URI as written.
    pub uri: String,
    /// `authentic`, `equivalent` (held under a named canonicalization variant) or `broken`.
    pub verdict: Verdict,
    /// The canonicalization variant under which the digest held, or the last one tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Recorded and computed digests, or why none could be computed.
    pub detail: String,
}

/// A file a record lists (by name, size, digest), and whether the bytes found agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentReport {
    /// The name as the record writes it.
    pub name: String,
    /// The size the record states, if it states one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_size: Option<u64>,
    /// The size of the bytes found (before any transform); `None` when the file is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found_size: Option<u64>,
    /// The digest algorithm recorded for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<DigestAlg>,
    /// The recorded digest, lowercase hexadecimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_digest: Option<String>,
    /// The digest of the bytes found, lowercase hexadecimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found_digest: Option<String>,
    /// `authentic`, `equivalent` (see `transform`), `repaired-not-authentic` or `broken`.
    pub verdict: Verdict,
    /// The benign transform that made the bytes match the recorded digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// What was checked, in words.
    pub detail: String,
    /// The restored bytes when `transform` is set (not serialized; the engine writes them out).
    #[serde(skip)]
    pub restored: Option<Vec<u8>>,
}

/// Everything verification found out about one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordReport {
    /// What the record is: `si`, `erencaps` (電子封裝檔), `media-encaps` (媒體封裝檔),
    /// `transfer-encaps` (移轉封裝檔), `di`, `sw`, `dsicdp`, `veo-v2`, `veo-v3`, `bagit`.
    pub kind: String,
    /// The root element's name as written.
    pub root: String,
    /// The text encoding the bytes are in (`utf-8`, `big5`).
    pub encoding: String,
    /// The record's own identifier (root `Id`, VEO identifier...), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether the XML is well-formed (for containers: whether the container parses).
    pub well_formed: bool,
    /// The worst verdict of everything below.
    pub verdict: Verdict,
    /// Every signature.
    pub signatures: Vec<SignatureReport>,
    /// Every internal reference of every signature.
    pub references: Vec<ReferenceReport>,
    /// Every listed file.
    pub components: Vec<ComponentReport>,
    /// Structural findings: unresolved or duplicate `#Id`s, missing files, bad base64 lines...
    pub problems: Vec<Problem>,
    /// Records nested inside this one (an SI inside a 電子封裝檔, a VEO inside a VEO).
    pub children: Vec<RecordReport>,
    /// Standing remarks, e.g. that certificates were checked offline without revocation.
    pub notes: Vec<String>,
}

impl RecordReport {
    /// An empty report for a record of `kind` with root `root`.
    pub fn new(kind: &str, root: &str, encoding: &str) -> Self {
        RecordReport {
            kind: kind.into(),
            root: root.into(),
            encoding: encoding.into(),
            id: None,
            well_formed: true,
            verdict: Verdict::Authentic,
            signatures: Vec::new(),
            references: Vec::new(),
            components: Vec::new(),
            problems: Vec::new(),
            children: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Set `verdict` to the worst of every part (signatures, references, components, children);
    /// a record that is not well-formed or has problems but no other verdict is `broken`.
    ///
    /// A signature is no better than its own internal references (XML-DSig core validation);
    /// a signing record or container in which nothing could be checked is `broken`, never
    /// vacuously `authentic`. Settling twice gives the same result.
    pub fn settle(&mut self) {
        for c in &mut self.children {
            c.settle();
        }
        for sig in &mut self.signatures {
            let worst = self
                .references
                .iter()
                .filter(|r| r.signature == sig.id && r.verdict > sig.verdict)
                .max_by_key(|r| r.verdict);
            if let Some(r) = worst {
                sig.verdict = r.verdict;
                sig.detail = format!(
                    "{}; but its reference {} is {}, so the signature is {} as a whole",
                    sig.detail, r.uri, r.verdict, r.verdict
                );
            }
        }
        let nothing_checked = self.signatures.is_empty()
            && self.references.is_empty()
            && self.components.is_empty()
            && self.children.is_empty();
        const NOTHING: &str = "nothing to verify: no signature, digest or record was found in it";
        if nothing_checked
            && matches!(self.kind.as_str(), "si" | "veo-v2" | "veo-v3" | "dsicdp")
            && !self.problems.iter().any(|p| p.message == NOTHING)
        {
            self.problems.push(Problem {
                offset: None,
                file: None,
                message: NOTHING.into(),
            });
        }
        let vacuous = self.problems.iter().any(|p| p.message == NOTHING);
        let mut v = Verdict::worst(
            self.signatures
                .iter()
                .map(|s| s.verdict)
                .chain(self.references.iter().map(|r| r.verdict))
                .chain(self.components.iter().map(|c| c.verdict))
                .chain(self.children.iter().map(|c| c.verdict)),
        );
        if !self.well_formed || vacuous {
            v = v.combine(Verdict::Broken);
        }
        self.verdict = v;
    }
}

/// The record kind named by a root element: `線上簽核` is an `si`, `電子封裝檔` an `erencaps`,
/// and so on; `None` for any other root.
pub fn kind_of_root(root: &str) -> Option<&'static str> {
    Some(match root {
        "線上簽核" => "si",
        "電子封裝檔" => "erencaps",
        "媒體封裝檔" => "media-encaps",
        "移轉封裝檔" => "transfer-encaps",
        "函" | "簽" | "文書結構" => "di",
        "交換表單" => "sw",
        "vers:VERSEncapsulatedObject" => "veo-v2",
        _ => return None,
    })
}

/// The name of the root element of an XML document in UTF-8 or Big5, skipping a BOM, the XML
/// declaration, processing instructions, comments and the DOCTYPE (with its internal subset).
/// Looks at most at the first 64 KiB; `None` when no root start tag is found there.
pub fn root_name(bytes: &[u8]) -> Option<String> {
    let b = &bytes[..bytes.len().min(64 << 10)];
    let mut i = if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let rest = b.get(i..)?;
        if rest.starts_with(b"<?") {
            i += memchr::memmem::find(rest, b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            i += memchr::memmem::find(rest, b"-->")? + 3;
        } else if rest.starts_with(b"<!DOCTYPE") || rest.starts_with(b"<!doctype") {
            // Quoted strings and one level of internal subset brackets.
            let mut j = 9;
            let mut quote = 0u8;
            let mut depth = 0u32;
            loop {
                let c = *rest.get(j)?;
                if quote != 0 {
                    if c == quote {
                        quote = 0;
                    }
                } else if c == b'"' || c == b'\'' {
                    quote = c;
                } else if c == b'[' {
                    depth += 1;
                } else if c == b']' {
                    depth = depth.saturating_sub(1);
                } else if c == b'>' && depth == 0 {
                    break;
                }
                j += 1;
            }
            i += j + 1;
        } else if rest.first() == Some(&b'<') {
            let end = rest[1..]
                .iter()
                .position(|c| c.is_ascii_whitespace() || *c == b'>' || *c == b'/')?;
            let raw = &rest[1..1 + end];
            if raw.is_empty() {
                return None;
            }
            return Some(match std::str::from_utf8(raw) {
                Ok(s) => s.to_owned(),
                Err(_) => encoding_rs::BIG5
                    .decode_without_bom_handling(raw)
                    .0
                    .into_owned(),
            });
        } else {
            return None;
        }
    }
}

/// The record kind of a document by its root element (see [`kind_of_root`]).
pub fn root_kind(bytes: &[u8]) -> Option<&'static str> {
    kind_of_root(&root_name(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_part_decides() {
        assert_eq!(Verdict::worst([]), Verdict::Authentic);
        assert_eq!(
            Verdict::worst([Verdict::Authentic, Verdict::Equivalent]),
            Verdict::Equivalent
        );
        assert_eq!(
            Verdict::worst([Verdict::Broken, Verdict::Equivalent]),
            Verdict::Broken
        );
    }

    #[test]
    fn digest_names() {
        assert_eq!(
            DigestAlg::from_name("http://www.w3.org/2000/09/xmldsig#sha1"),
            Some(DigestAlg::Sha1)
        );
        assert_eq!(
            DigestAlg::from_name("http://www.w3.org/2001/04/xmlenc#sha256"),
            Some(DigestAlg::Sha256)
        );
        assert_eq!(DigestAlg::from_name("SHA-512"), Some(DigestAlg::Sha512));
        assert_eq!(DigestAlg::Sha1.digest(b"abc").unwrap().len(), 20);
    }

    #[test]
    fn roots_in_utf8_and_big5() {
        let si = "\u{feff}<?xml version=\"1.0\"?><!DOCTYPE 線上簽核 SYSTEM \"99_sign_utf8.dtd\"[]><線上簽核 Id=\"x\">";
        assert_eq!(root_kind(si.as_bytes()), Some("si"));
        let (big5, _, bad) = encoding_rs::BIG5.encode("<?xml version=\"1.0\" encoding=\"Big5\"?>\n<!DOCTYPE 函 SYSTEM \"93_2.dtd\" [\n<!ENTITY a SYSTEM \"a.doc\" NDATA DOC>\n]>\n<函>");
        assert!(!bad);
        assert_eq!(root_name(&big5).as_deref(), Some("函"));
        assert_eq!(root_kind(&big5), Some("di"));
        assert_eq!(
            root_kind(b"<vers:VERSEncapsulatedObject xmlns:vers=\"x\">"),
            Some("veo-v2")
        );
        assert_eq!(root_kind(b"<html>"), None);
        assert_eq!(root_kind(b"<!DOCTYPE x [ ]"), None);
        assert_eq!(root_kind(b""), None);
    }

    proptest::proptest! {
        #[test]
        fn root_name_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
                                  prefix in proptest::sample::select(vec![&b""[..], b"\xef\xbb\xbf", b"<?xml ?>", b"<!DOCTYPE a [", b"<!--"])) {
            let mut v = prefix.to_vec();
            v.extend_from_slice(&data);
            let _ = root_kind(&v);
        }
    }
}
