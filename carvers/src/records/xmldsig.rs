//! XML signatures as Taiwanese records write them: `Signature` / `SignedInfo` / `Reference` /
//! `DigestMethod` / `DigestValue`, `SignatureValue`, `KeyInfo` / `X509Data` / `X509Certificate`,
//! without the xmldsig namespace (a prefixed or namespaced form is recognised by local name).
//!
//! Same-document references (`#Id`) are checked here under each canonicalization variant of
//! [`c14n::VARIANTS`]; references to files are returned for the caller to check against the
//! files themselves with [`check_component`], which also tries digest-guided repair.

use super::c14n::{self, Options};
use super::crypto::{self, SigDigest};
use super::hex;
use super::xml::{local_name, Document};
use super::{
    transforms, ComponentReport, ComponentSource, DigestAlg, ReferenceReport, SignatureReport,
    Verdict,
};
use std::collections::HashMap;

/// The standing remark for every report with a signature in it.
pub const OFFLINE_NOTE: &str = "signatures and certificates were checked offline: no certificate chain was built and no revocation (CRL/OCSP) was checked";

/// A reference to a file, as a signature records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReference {
    /// The signature it belongs to.
    pub signature: String,
    /// The URI as written (a relative file name).
    pub uri: String,
    /// The digest algorithm, when recognised.
    pub alg: Option<DigestAlg>,
    /// The DigestMethod algorithm as written.
    pub method: String,
    /// The recorded digest, when present and decodable.
    pub digest: Option<Vec<u8>>,
    /// Byte offset of the `Reference` element.
    pub offset: u64,
}

/// What checking one `Signature` element found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The signature value over SignedInfo.
    pub signature: SignatureReport,
    /// Every same-document reference.
    pub references: Vec<ReferenceReport>,
    /// Every reference to a file (checked by the caller against the files).
    pub files: Vec<FileReference>,
    /// The signature's certificate in DER, when one is embedded and decodable.
    pub certificate: Option<Vec<u8>>,
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A name for the signature at `sig`: its `Id`, or its position.
pub fn signature_name(doc: &Document, sig: usize) -> String {
    match doc.el(sig) {
        Some(e) => match e
            .attr("Id")
            .or_else(|| e.attr("id"))
            .or_else(|| e.attr("ID"))
        {
            Some(id) => id.to_string(),
            None => format!("Signature at byte {:#x}", e.offset),
        },
        None => format!("Signature #{sig}"),
    }
}

/// Digests of canonical forms already computed for one document, so that many references to the
/// same element (or a hostile record with thousands of them) cost one canonicalization each.
#[derive(Debug, Default)]
pub struct DigestCache(HashMap<(usize, Options, DigestAlg), Vec<u8>>);

impl DigestCache {
    fn digest(
        &mut self,
        doc: &Document,
        el: usize,
        opts: Options,
        alg: DigestAlg,
    ) -> Option<Vec<u8>> {
        if let Some(d) = self.0.get(&(el, opts, alg)) {
            return Some(d.clone());
        }
        let d = alg.digest(&c14n::canonicalize(doc, el, opts))?;
        self.0.insert((el, opts, alg), d.clone());
        Some(d)
    }
}

/// Check the `Signature` element at `sig`: every same-document reference digest, and the
/// signature value over the canonical SignedInfo with the embedded certificate.
pub fn check(doc: &Document, sig: usize) -> SignatureCheck {
    check_cached(doc, sig, &mut DigestCache::default())
}

/// [`check`] sharing canonical-form digests with other signatures of the same document.
pub fn check_cached(doc: &Document, sig: usize, cache: &mut DigestCache) -> SignatureCheck {
    let name = signature_name(doc, sig);
    let offset = doc.el(sig).map(|e| e.offset);
    let mut references = Vec::new();
    let mut files = Vec::new();
    let signed_info = doc.child(sig, "SignedInfo");

    for (r, uri, method, alg, recorded) in raw_references(doc, signed_info) {
        if uri.is_empty() || uri.starts_with("#xpointer(") {
            // The whole document, normally with the enveloped-signature transform.
            references.push(ReferenceReport {
                signature: name.clone(),
                uri: uri.clone(),
                verdict: Verdict::Broken,
                variant: None,
                detail: format!(
                    "whole-document reference (URI {uri:?}) is not supported; these records reference elements by Id (Reference at byte {:#x})",
                    doc.el(r).map_or(0, |e| e.offset)
                ),
            });
        } else if let Some(id) = uri.strip_prefix('#') {
            references.push(check_reference(
                doc,
                cache,
                &name,
                &uri,
                id,
                alg,
                &method,
                recorded.as_deref(),
                r,
            ));
        } else {
            files.push(file_reference(doc, &name, r, uri, method, alg, recorded));
        }
    }

    let (signature, certificate) = check_value(doc, sig, signed_info, &name, offset);
    SignatureCheck {
        signature,
        references,
        files,
        certificate,
    }
}

type RawReference = (usize, String, String, Option<DigestAlg>, Option<String>);

/// Each `Reference` of a SignedInfo: element, URI, DigestMethod, algorithm, DigestValue text.
fn raw_references(doc: &Document, signed_info: Option<usize>) -> Vec<RawReference> {
    let Some(si) = signed_info else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in doc.child_elements(si) {
        let Some(re) = doc.el(r) else { continue };
        if local_name(&re.name) != "Reference" {
            continue;
        }
        let uri = re.attr("URI").unwrap_or("").to_string();
        let method = doc
            .child(r, "DigestMethod")
            .and_then(|m| doc.el(m))
            .and_then(|m| m.attr("Algorithm"))
            .unwrap_or("")
            .to_string();
        let alg = DigestAlg::from_name(&method);
        let recorded = doc.child(r, "DigestValue").map(|v| doc.text(v));
        out.push((r, uri, method, alg, recorded));
    }
    out
}

fn file_reference(
    doc: &Document,
    sig_name: &str,
    r: usize,
    uri: String,
    method: String,
    alg: Option<DigestAlg>,
    recorded: Option<String>,
) -> FileReference {
    let digest = recorded
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| crypto::decode_base64_lenient(t.as_bytes()).ok());
    FileReference {
        signature: sig_name.to_string(),
        uri,
        alg,
        method,
        digest,
        offset: doc.el(r).map_or(0, |e| e.offset),
    }
}

/// The file references of the `Signature` at `sig`, without checking anything.
pub fn check_files_only(doc: &Document, sig: usize) -> Vec<FileReference> {
    let name = signature_name(doc, sig);
    raw_references(doc, doc.child(sig, "SignedInfo"))
        .into_iter()
        .filter(|(_, uri, ..)| !uri.starts_with('#'))
        .map(|(r, uri, method, alg, recorded)| {
            file_reference(doc, &name, r, uri, method, alg, recorded)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn check_reference(
    doc: &Document,
    cache: &mut DigestCache,
    sig_name: &str,
    uri: &str,
    id: &str,
    alg: Option<DigestAlg>,
    method: &str,
    recorded: Option<&str>,
    reference: usize,
) -> ReferenceReport {
    let broken = |detail: String| ReferenceReport {
        signature: sig_name.to_string(),
        uri: uri.to_string(),
        verdict: Verdict::Broken,
        variant: None,
        detail,
    };
    let at = doc.el(reference).map_or(0, |e| e.offset);
    let Some(alg) = alg.filter(|a| *a != DigestAlg::Md5Unsupported) else {
        return broken(format!(
            "digest method {method:?} is not supported (Reference at byte {at:#x})"
        ));
    };
    let recorded = match recorded.map(str::trim) {
        None => return broken(format!("no DigestValue (Reference at byte {at:#x})")),
        Some("") => return broken(format!("DigestValue is empty (Reference at byte {at:#x})")),
        Some(t) => match crypto::decode_base64_lenient(t.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                return broken(format!(
                    "DigestValue is not base64: {e} (Reference at byte {at:#x})"
                ));
            }
        },
    };
    let Some(target) = doc.ids.get(id).copied() else {
        return broken(format!(
            "no element has Id {id:?}; recorded digest {}",
            b64(&recorded)
        ));
    };
    let mut tried = Vec::new();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    for opts in c14n::VARIANTS {
        let Some(d) = cache.digest(doc, target, opts, alg) else {
            continue;
        };
        if d == recorded {
            let at = doc.el(target).map_or(0, |e| e.offset);
            let (verdict, detail) = if opts.undoes_a_change() {
                (
                    Verdict::Equivalent,
                    format!(
                        "digest {} holds over the element at byte {at:#x} only once the indentation that ends its text nodes is removed: the element was re-indented after it was signed (whitespace only; the signed content is otherwise unchanged)",
                        b64(&d)
                    ),
                )
            } else {
                (
                    Verdict::Authentic,
                    format!("digest {} holds over the element at byte {at:#x}", b64(&d)),
                )
            };
            return ReferenceReport {
                signature: sig_name.to_string(),
                uri: uri.to_string(),
                verdict,
                variant: Some(opts.name().into()),
                detail,
            };
        }
        // A variant that changed nothing in this element gives a digest already listed.
        if !seen.contains(&d) {
            tried.push(format!("{}: {}", opts.name(), b64(&d)));
            seen.push(d);
        }
    }
    let transforms: Vec<String> = doc
        .child(reference, "Transforms")
        .map(|t| doc.child_elements(t))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| doc.el(t)?.attr("Algorithm").map(str::to_string))
        .collect();
    if !transforms.is_empty() {
        tried.push(format!("Transforms not applied: {}", transforms.join(", ")));
    }
    ReferenceReport {
        signature: sig_name.to_string(),
        uri: uri.to_string(),
        verdict: Verdict::Broken,
        variant: c14n::VARIANTS.last().map(|o| o.name().to_string()),
        detail: format!(
            "recorded digest {} matches no canonical form of the element at byte {:#x} ({})",
            b64(&recorded),
            doc.el(target).map_or(0, |e| e.offset),
            tried.join("; ")
        ),
    }
}

fn check_value(
    doc: &Document,
    sig: usize,
    signed_info: Option<usize>,
    name: &str,
    offset: Option<u64>,
) -> (SignatureReport, Option<Vec<u8>>) {
    let method = signed_info
        .and_then(|s| doc.child(s, "SignatureMethod"))
        .and_then(|m| doc.el(m))
        .and_then(|m| m.attr("Algorithm"))
        .unwrap_or("")
        .to_string();
    let mut report = SignatureReport {
        id: name.to_string(),
        algorithm: method.clone(),
        verdict: Verdict::Broken,
        variant: None,
        signer: None,
        within_validity: None,
        detail: String::new(),
        offset,
    };
    let cert = doc
        .child(sig, "KeyInfo")
        .and_then(|k| doc.child(k, "X509Data"))
        .and_then(|x| doc.child(x, "X509Certificate"))
        .map(|c| doc.text(c))
        .filter(|t| !t.trim().is_empty());
    let cert = match cert.map(|t| crypto::decode_base64_lenient(t.as_bytes())) {
        None => None,
        Some(Ok(der)) => Some(der),
        Some(Err(e)) => {
            report.detail = format!("X509Certificate is not base64: {e}");
            return (report, None);
        }
    };
    if let Some(der) = &cert {
        match crypto::cert_info(der) {
            Ok(info) => report.signer = Some(info),
            Err(e) => {
                report.detail = e.to_string();
                return (report, cert);
            }
        }
    }
    let Some(si) = signed_info else {
        report.detail = "no SignedInfo element".into();
        return (report, cert);
    };
    let Some(digest) = SigDigest::from_name(&method) else {
        report.detail = format!("signature method {method:?} is not supported");
        return (report, cert);
    };
    let Some(der) = &cert else {
        report.detail = "no X509Certificate embedded: the signature value cannot be checked".into();
        return (report, cert);
    };
    let value = doc
        .child(sig, "SignatureValue")
        .map(|v| doc.text(v))
        .unwrap_or_default();
    let value = match crypto::decode_base64_lenient(value.as_bytes()) {
        Ok(v) if !v.is_empty() => v,
        Ok(_) => {
            report.detail = "SignatureValue is empty".into();
            return (report, cert);
        }
        Err(e) => {
            report.detail = format!("SignatureValue is not base64: {e}");
            return (report, cert);
        }
    };
    let mut failures = Vec::new();
    for opts in c14n::VARIANTS {
        let bytes = c14n::canonicalize(doc, si, opts);
        match crypto::verify_rsa(der, digest, &bytes, &value) {
            Ok(()) => {
                report.variant = Some(opts.name().into());
                if opts.undoes_a_change() {
                    report.verdict = Verdict::Equivalent;
                    report.detail = format!(
                        "RSA PKCS#1 v1.5 ({digest:?}) holds with the embedded certificate over the canonical SignedInfo only once the indentation that ends its text nodes is removed (re-indented after signing); checked offline, no revocation check"
                    );
                } else {
                    report.verdict = Verdict::Authentic;
                    report.detail = format!(
                        "RSA PKCS#1 v1.5 ({digest:?}) over the canonical SignedInfo holds with the embedded certificate; checked offline, no revocation check"
                    );
                }
                return (report, cert);
            }
            Err(e) => failures.push(format!("{}: {e}", opts.name())),
        }
    }
    report.variant = c14n::VARIANTS.last().map(|o| o.name().to_string());
    report.detail = format!(
        "signature value does not hold over SignedInfo ({})",
        failures.join("; ")
    );
    (report, cert)
}

/// Check the file `name` a record lists against its recorded size and digest; when the digest
/// does not hold, try the benign transforms of [`transforms::prove`].
pub fn check_component(
    name: &str,
    recorded_size: Option<u64>,
    alg: Option<DigestAlg>,
    digest: Option<&[u8]>,
    src: &dyn ComponentSource,
) -> ComponentReport {
    let mut r = ComponentReport {
        name: name.to_string(),
        recorded_size,
        found_size: None,
        alg,
        recorded_digest: digest.map(hex),
        found_digest: None,
        verdict: Verdict::Broken,
        transform: None,
        detail: String::new(),
        restored: None,
    };
    // A URI may be percent-encoded (`%E5%85%AC...`); the file is under the decoded name.
    let decoded = percent_decode(name);
    let fetched = match src.fetch(name) {
        Ok(None) if decoded.as_deref().is_some_and(|d| d != name) => {
            src.fetch(decoded.as_deref().unwrap_or(name))
        }
        other => other,
    };
    let bytes = match fetched {
        Ok(Some(b)) => b,
        Ok(None) => {
            r.detail = format!("missing from {}", src.describe());
            return r;
        }
        Err(e) => {
            r.detail = format!("unreadable in {}: {e}", src.describe());
            return r;
        }
    };
    let found = bytes.len() as u64;
    r.found_size = Some(found);
    let size_note = match recorded_size {
        Some(s) if s != found => format!("; recorded size {s}, found {found}"),
        _ => String::new(),
    };
    let computable = alg.filter(|a| *a != DigestAlg::Md5Unsupported);
    match (computable, digest) {
        (Some(alg), Some(want)) => {
            let got = alg.digest(&bytes).unwrap_or_default();
            r.found_digest = Some(hex(&got));
            if got == want {
                r.verdict = Verdict::Authentic;
                r.detail = format!("{alg:?} digest holds{size_note}");
            } else if let Some((t, restored)) = transforms::prove(&bytes, recorded_size, alg, want)
            {
                r.verdict = Verdict::Equivalent;
                r.detail = format!(
                    "{alg:?} digest holds after {t} ({} bytes){size_note}",
                    restored.len()
                );
                r.transform = Some(t);
                r.restored = Some(restored);
            } else {
                r.detail = format!(
                    "{alg:?} digest does not hold and no benign transform restores it{size_note}"
                );
            }
        }
        (None, Some(_)) => {
            r.detail =
                format!("digest algorithm not supported; nothing proves the bytes{size_note}");
        }
        (_, None) => match recorded_size {
            Some(s) if s == found => {
                r.verdict = Verdict::Authentic;
                r.detail = "size agrees; no digest recorded".into();
            }
            Some(_) => r.detail = format!("size differs and no digest is recorded{size_note}"),
            None => {
                r.verdict = Verdict::Authentic;
                r.detail = "present; no size or digest recorded".into();
            }
        },
    }
    r
}

/// `%XX` escapes decoded, when the result is UTF-8; `None` when there is nothing to decode.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::xml::parse;
    use std::borrow::Cow;

    struct One(&'static str, &'static [u8]);

    impl ComponentSource for One {
        fn fetch(&self, uri: &str) -> Result<Option<Cow<'_, [u8]>>, String> {
            Ok((uri == self.0).then_some(Cow::Borrowed(self.1)))
        }
        fn describe(&self) -> String {
            "one file".into()
        }
    }

    #[test]
    fn percent_encoded_names_are_found() {
        assert_eq!(percent_decode("%E5%85%AC.txt").as_deref(), Some("公.txt"));
        assert_eq!(percent_decode("a%2").as_deref(), Some("a%2"));
        let sha = DigestAlg::Sha1.digest(b"x").unwrap();
        let c = check_component(
            "%E5%85%AC.txt",
            Some(1),
            Some(DigestAlg::Sha1),
            Some(&sha),
            &One("公.txt", b"x"),
        );
        assert_eq!(c.verdict, Verdict::Authentic);
    }

    #[test]
    fn reference_digest_and_its_variant() {
        // The whitespace-dropped canonical form: attributes in code-point order ("Id" < "a").
        let canon = b"<o Id=\"o\" a=\"1\"><p>t</p></o>";
        let want = b64(&DigestAlg::Sha1.digest(canon).unwrap());
        let x = format!(
            "<r><Signature><SignedInfo><Reference URI=\"#o\"><DigestMethod Algorithm=\"sha1\"/><DigestValue>{want}</DigestValue></Reference><Reference URI=\"\"/></SignedInfo></Signature><o Id=\"o\" a=\"1\">\n <p>t</p>\n</o></r>"
        );
        let d = parse(x.as_bytes()).unwrap();
        let c = check(&d, 1);
        assert_eq!(c.references.len(), 2);
        assert_eq!(c.references[0].verdict, Verdict::Authentic);
        assert_eq!(
            c.references[0].variant.as_deref(),
            Some("c14n, whitespace-only text dropped")
        );
        assert_eq!(c.references[1].verdict, Verdict::Broken);
        assert!(c.references[1]
            .detail
            .starts_with("whole-document reference"));
        assert_eq!(c.signature.verdict, Verdict::Broken);
        assert_eq!(c.signature.signer, None);
    }
}
