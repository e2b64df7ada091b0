//! Electronic-record packages: Taiwanese signing records (SI), archival encapsulations
//! (電子封裝檔 and kin), DI documents, SW exchange lists, the `.dsicdp` container, and VERS
//! Encapsulated Objects (VEO v2 XML, VEO v3 ZIP).
//!
//! Everything here is pure: bytes in, reports out. Files a record refers to are fetched through
//! [`ComponentSource`], which the engine implements over a folder, a ZIP or a `.dsicdp`.

pub mod crypto;

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
    pub fn len(self) -> usize {
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
    s.serialize_str(&b.iter().map(|x| format!("{x:02x}")).collect::<String>())
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
}
