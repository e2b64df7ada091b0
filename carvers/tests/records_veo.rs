//! VEO v2 verification on the corpus samples (PROV's V2Generator test output) and on damaged
//! copies of them; VEO v3 on a package built here with a throwaway key.

mod common;

use salvor_carvers::records::veo::{self, verify_v2};
use salvor_carvers::records::{RecordReport, Verdict};
use sha2::Digest as _;

fn corpus_file(name: &str) -> Option<Vec<u8>> {
    common::corpus_file("veo", name)
}

fn sha256(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn all_authentic(r: &RecordReport) {
    assert!(r.well_formed, "{:?}", r.problems);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    for s in &r.signatures {
        assert_eq!(s.verdict, Verdict::Authentic, "{}: {}", s.id, s.detail);
    }
    assert_eq!(r.verdict, Verdict::Authentic);
}

const DOCX_SHA256: &str = "7e21ab0faec14f86b0bf3d0d9fee99977699047aec446ea5cbfaf7778e5cff44";
const PDF_SHA256: &str = "5737c9704b45efd1639c313af07aeb2175e515b6887f351dd1668024414ae812";

#[test]
fn file_veo_signature_and_lock_signature_hold() {
    let Some(b) = corpus_file("fileVEO.veo") else {
        return;
    };
    let r = verify_v2(&b);
    all_authentic(&r);
    assert_eq!(r.kind, "veo-v2");
    assert_eq!(r.root, "vers:VERSEncapsulatedObject");
    assert_eq!(r.encoding, "utf-8");
    assert_eq!(r.id.as_deref(), Some("2876/13181/identifier013"));
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.signatures[0].id, "Revision-1-Signature-1");
    assert_eq!(
        r.signatures[0].algorithm,
        "SHA512withRSA (1.2.840.113549.1.1.13)"
    );
    assert!(r.signatures[1].id.starts_with("vers:LockSignatureBlock #1"));
    let signer = r.signatures[0].signer.as_ref().expect("signer certificate");
    assert!(
        signer.subject.contains("CN=testSigner"),
        "{}",
        signer.subject
    );
    assert_eq!(signer.key_bits, Some(1024));
    assert_eq!(signer.not_after, "2021-03-31T23:18:33Z");
    // Signed on 2022-04-06 with a certificate that expired on 2021-03-31.
    assert_eq!(r.signatures[0].within_validity, Some(false));
    assert!(r.components.is_empty());
    assert!(r.children.is_empty());
}

#[test]
fn record_veo_documents_equal_their_sources() {
    let Some(b) = corpus_file("1D-2E.veo") else {
        return;
    };
    let r = verify_v2(&b);
    all_authentic(&r);
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.components.len(), 2);
    let docx = &r.components[0];
    assert_eq!(docx.name, "S-39-6-Nov.docx");
    assert_eq!(docx.found_size, Some(263_937));
    assert_eq!(docx.found_digest.as_deref(), Some(DOCX_SHA256));
    assert_eq!(docx.verdict, Verdict::Authentic);
    let pdf = &r.components[1];
    assert_eq!(pdf.name, "S-39-6-Nov.pdf");
    assert_eq!(pdf.found_size, Some(896_223));
    assert_eq!(pdf.found_digest.as_deref(), Some(PDF_SHA256));
    // The two samples hold no earlier VEO (no vers:ModifiedVEO); nesting is tested below.
    assert!(r.children.is_empty());
    if let Some(src) = corpus_file("S-39-6-Nov.docx") {
        assert_eq!(sha256(&src), DOCX_SHA256);
    }
}

#[test]
fn line_endings_changed_to_crlf_still_verify() {
    let Some(b) = corpus_file("1D-2E.veo") else {
        return;
    };
    let mut crlf = Vec::with_capacity(b.len() * 21 / 20);
    for &x in &b {
        if x == b'\n' {
            crlf.push(b'\r');
        }
        crlf.push(x);
    }
    assert_ne!(crlf.len(), b.len());
    let r = verify_v2(&crlf);
    all_authentic(&r);
    assert_eq!(r.components[0].found_digest.as_deref(), Some(DOCX_SHA256));
    assert_eq!(r.components[1].found_digest.as_deref(), Some(PDF_SHA256));
}

#[test]
fn one_flipped_byte_in_the_signed_object_breaks_it() {
    let Some(mut b) = corpus_file("fileVEO.veo") else {
        return;
    };
    let at = find(&b, b"Title of File").unwrap();
    b[at] ^= 0x20; // "title of File"
    let r = verify_v2(&b);
    assert!(r.well_formed);
    assert_eq!(r.signatures[0].verdict, Verdict::Broken);
    assert!(
        r.signatures[0].detail.contains("does not match"),
        "{}",
        r.signatures[0].detail
    );
    // The lock signature signs the signature value, which is untouched.
    assert_eq!(r.signatures[1].verdict, Verdict::Authentic);
    assert_eq!(r.verdict, Verdict::Broken);
}

#[test]
fn a_changed_signature_value_breaks_signature_and_lock() {
    let Some(mut b) = corpus_file("fileVEO.veo") else {
        return;
    };
    let at = find(&b, b"VNHhRkmPF9").unwrap();
    b[at] = b'W';
    let r = verify_v2(&b);
    assert_eq!(r.signatures[0].verdict, Verdict::Broken);
    assert_eq!(r.signatures[1].verdict, Verdict::Broken);
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

#[test]
fn a_corrupted_base64_line_is_located_and_the_docx_repaired() {
    let Some(mut b) = corpus_file("1D-2E.veo") else {
        return;
    };
    // Line 2000 of the file lies inside the docx's base64 (lines 377 to 5007).
    let line_start = b
        .iter()
        .enumerate()
        .filter(|(_, &x)| x == b'\n')
        .nth(1998)
        .map(|(i, _)| i + 1)
        .unwrap();
    b[line_start + 10] = b'!';
    b[line_start + 11] = b'*';
    let r = verify_v2(&b);
    assert!(r.well_formed);
    assert_eq!(r.signatures[0].verdict, Verdict::Broken);
    let docx = &r.components[0];
    assert_eq!(docx.name, "S-39-6-Nov.docx");
    // Each bad line keeps its length: the decoded size is unchanged.
    assert_eq!(docx.found_size, Some(263_937));
    assert_eq!(
        docx.verdict,
        Verdict::RepairedNotAuthentic,
        "{}",
        docx.detail
    );
    assert!(
        docx.detail
            .contains(&format!("base64 line 2000 at offset {line_start}")),
        "{}",
        docx.detail
    );
    assert!(docx.detail.contains("ZIP repair (docx)"), "{}", docx.detail);
    assert!(docx
        .restored
        .as_ref()
        .is_some_and(|z| z.starts_with(b"PK\x03\x04")));
    // The pdf is untouched but no longer proven.
    assert_eq!(r.components[1].found_digest.as_deref(), Some(PDF_SHA256));
    assert_eq!(r.components[1].verdict, Verdict::Broken);

    // The same through decode_document directly.
    let data = find(&b, b"Revision-1-Document-1-Encoding-1-DocumentData\">").unwrap() + 47;
    let end = data + find(&b[data..], b"</vers:DocumentData>").unwrap();
    let d = veo::decode_document(&b, data..end);
    assert_eq!(d.bad_lines, 1);
    assert_eq!(d.first_bad, Some((2000, line_start as u64)));
    assert_eq!(
        d.problems[0].message,
        format!("base64 line 2000 at offset {line_start} does not decode (a byte that is not base64 at column 11): zero-filled")
    );
    assert_eq!(d.bytes.len(), 263_937);
    let z = d.zip_repair.expect("docx handed to ZIP repair");
    assert!(z.members_written > 0);
    assert_eq!(z.members_damaged, 1, "{}", z.summary);
    assert_eq!(z.members_whole + z.members_damaged, 27, "{}", z.summary);
}

/// A modified VEO built here: the corpus's fileVEO becomes the `vers:OriginalVEO` of an outer
/// VEO whose own signature is made with a throwaway key.
#[test]
fn nested_original_veo_is_a_child() {
    let Some(inner) = corpus_file("fileVEO.veo") else {
        return;
    };
    let Some(key) = v3::Key::new() else { return };
    let s = String::from_utf8(inner).unwrap();
    let body_start = s.find("<vers:SignatureBlock").unwrap();
    let body_end = s.find("</vers:VERSEncapsulatedObject>").unwrap();
    let original = &s[body_start..body_end];
    let signed = format!(
        "<vers:SignedObject vers:VEOVersion=\"2.0\">\n <vers:ObjectMetadata><vers:ObjectType>File</vers:ObjectType></vers:ObjectMetadata>\n <vers:ObjectContent>\n  <vers:ModifiedVEO>\n   <vers:RevisedVEO><vers:SignedObject><vers:ObjectContent>new</vers:ObjectContent></vers:SignedObject></vers:RevisedVEO>\n   <vers:OriginalVEO>\n{original}   </vers:OriginalVEO>\n  </vers:ModifiedVEO>\n </vers:ObjectContent>\n</vers:SignedObject>\n"
    );
    let sig = key.sign("sha256", &veo::strip_whitespace(signed.as_bytes()));
    let outer = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<vers:VERSEncapsulatedObject xmlns:vers=\"x\">\n<vers:SignatureBlock vers:id=\"Revision-2-Signature-1\">\n<vers:SignatureAlgorithm><vers:SignatureAlgorithmIdentifier>1.2.840.113549.1.1.11</vers:SignatureAlgorithmIdentifier></vers:SignatureAlgorithm>\n<vers:SignatureDate>2030-01-01T10:00:00Z</vers:SignatureDate>\n<vers:Signature>\n{}\n</vers:Signature>\n<vers:CertificateBlock><vers:Certificate>\n{}\n</vers:Certificate></vers:CertificateBlock>\n</vers:SignatureBlock>\n{signed}</vers:VERSEncapsulatedObject>\n",
        v3::b64(&sig),
        v3::b64(&key.cert_der)
    );
    let r = verify_v2(outer.as_bytes());
    all_authentic(&r);
    assert_eq!(r.signatures.len(), 1);
    assert_eq!(r.signatures[0].within_validity, Some(true));
    assert_eq!(r.children.len(), 1);
    let child = &r.children[0];
    assert_eq!(child.root, "vers:OriginalVEO");
    assert_eq!(child.signatures.len(), 2);
    all_authentic(child);

    // Damage inside the original breaks both the child and the outer signature.
    let bad = outer.replacen("Title of File", "Title of Pile", 1);
    let r = verify_v2(bad.as_bytes());
    assert_eq!(r.signatures[0].verdict, Verdict::Broken);
    assert_eq!(r.children[0].signatures[0].verdict, Verdict::Broken);
    assert_eq!(r.children[0].verdict, Verdict::Broken);
}

#[test]
fn not_a_veo() {
    let r = verify_v2(b"<a><b/></a>");
    assert_eq!(r.verdict, Verdict::Broken);
    assert!(!r.well_formed);
    let r = verify_v2(b"");
    assert_eq!(r.verdict, Verdict::Broken);
    let r = verify_v2(b"<vers:VERSEncapsulatedObject><vers:SignedObject>x</vers:SignedObject></vers:VERSEncapsulatedObject>");
    assert!(r
        .problems
        .iter()
        .any(|p| p.message.contains("no vers:SignatureBlock")));
}

mod v3 {
    //! Throwaway RSA keys and certificates made with the `openssl` command at test time.

    use base64::Engine as _;
    use std::process::Command;

    pub struct Key {
        dir: PathBuf,
        pub cert_der: Vec<u8>,
    }
    use std::path::PathBuf;

    impl Key {
        /// A 2048-bit key and a self-signed certificate, or `None` (test skipped) without openssl.
        pub fn new() -> Option<Key> {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let dir =
                std::env::temp_dir().join(format!("salvor-veo-key-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).ok()?;
            let ok = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "36500",
                ])
                .args(["-subj", "/CN=salvor test signer/O=Salvor"])
                .arg("-keyout")
                .arg(dir.join("key.pem"))
                .arg("-outform")
                .arg("DER")
                .arg("-out")
                .arg(dir.join("cert.der"))
                .output()
                .ok()?
                .status
                .success();
            if !ok {
                eprintln!("skipped: openssl could not make a test key");
                return None;
            }
            let cert_der = std::fs::read(dir.join("cert.der")).ok()?;
            Some(Key { dir, cert_der })
        }

        /// PKCS#1 v1.5 signature over `data` with digest `alg` (`sha1`, `sha256`, `sha512`).
        pub fn sign(&self, alg: &str, data: &[u8]) -> Vec<u8> {
            let input = self.dir.join("in.bin");
            std::fs::write(&input, data).unwrap();
            let out = Command::new("openssl")
                .args(["dgst", &format!("-{alg}"), "-sign"])
                .arg(self.dir.join("key.pem"))
                .arg(&input)
                .output()
                .unwrap();
            assert!(out.status.success());
            out.stdout
        }
    }

    impl Drop for Key {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// MIME base64: 76 characters a line.
    pub fn b64(b: &[u8]) -> String {
        let s = base64::engine::general_purpose::STANDARD.encode(b);
        s.as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A member map standing in for the ZIP of a `.veo.zip`.
struct Members(Vec<(String, Vec<u8>)>);

impl salvor_carvers::records::ComponentSource for Members {
    fn fetch(&self, uri: &str) -> Result<Option<std::borrow::Cow<'_, [u8]>>, String> {
        Ok(self
            .0
            .iter()
            .find(|(n, _)| n == uri)
            .map(|(_, b)| std::borrow::Cow::Borrowed(b.as_slice())))
    }
    fn describe(&self) -> String {
        "test members".into()
    }
}

impl Members {
    fn names(&self) -> Vec<String> {
        self.0.iter().map(|(n, _)| n.clone()).collect()
    }
    fn set(&mut self, name: &str, b: Vec<u8>) {
        if let Some(m) = self.0.iter_mut().find(|(n, _)| n == name) {
            m.1 = b;
        }
    }
}

fn signature_file(key: &v3::Key, alg: &str, signed: &[u8]) -> Vec<u8> {
    let sig = key.sign(&alg[..6].to_ascii_lowercase(), signed);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\r\n<vers:SignatureBlock xmlns:vers=\"http://www.prov.vic.gov.au/VERS\">\r\n <vers:Version>3.0</vers:Version>\r\n <vers:SignatureAlgorithm>{alg}  </vers:SignatureAlgorithm>\r\n <vers:SignatureDateTime>2030-01-01T10:00:00+10:00</vers:SignatureDateTime>\r\n <vers:Signer>\r\nCN=salvor test signer</vers:Signer>\r\n <vers:Signature>\r\n{}  </vers:Signature>\r\n <vers:CertificateChain>\r\n  <vers:Certificate>\r\n{}  </vers:Certificate>\r\n </vers:CertificateChain>\r\n</vers:SignatureBlock>\r\n",
        v3::b64(&sig),
        v3::b64(&key.cert_der)
    )
    .into_bytes()
}

fn build_v3(key: &v3::Key) -> Members {
    use base64::Engine as _;
    let doc = b"The minutes of the meeting.\r\n".to_vec();
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    let h = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(b));
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\r\n<vers:VEOContentFile xmlns:vers=\"http://www.prov.vic.gov.au/VERS\">\r\n <vers:Version>3.0</vers:Version>\r\n <vers:HashFunctionAlgorithm>SHA-256</vers:HashFunctionAlgorithm>\r\n <vers:InformationObject>\r\n  <vers:InformationObjectType>Record</vers:InformationObjectType>\r\n  <vers:InformationObjectDepth>1</vers:InformationObjectDepth>\r\n  <vers:InformationPiece>\r\n   <vers:Label>Minutes</vers:Label>\r\n   <vers:ContentFile>\r\n    <vers:PathName>S-1/minutes.txt</vers:PathName>\r\n    <vers:HashValue>{}</vers:HashValue>\r\n   </vers:ContentFile>\r\n   <vers:ContentFile>\r\n    <vers:PathName>S-1/minutes.pdf</vers:PathName>\r\n    <vers:HashValue>{}</vers:HashValue>\r\n   </vers:ContentFile>\r\n  </vers:InformationPiece>\r\n </vers:InformationObject>\r\n</vers:VEOContentFile>\r\n",
        h(&doc),
        h(&pdf)
    )
    .into_bytes();
    let history = b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\r\n<vers:VEOHistoryFile xmlns:vers=\"http://www.prov.vic.gov.au/VERS\">\r\n <vers:Version>3.0</vers:Version>\r\n <vers:Event>\r\n  <vers:EventDateTime>2030-01-01</vers:EventDateTime>\r\n  <vers:EventType>Created</vers:EventType>\r\n </vers:Event>\r\n</vers:VEOHistoryFile>\r\n".to_vec();
    Members(vec![
        ("demo.veo/VEOReadme.txt".into(), b"readme".to_vec()),
        (
            "demo.veo/VEOContentSignature1.xml".into(),
            signature_file(key, "SHA256withRSA", &content),
        ),
        (
            "demo.veo/VEOHistorySignature1.xml".into(),
            signature_file(key, "SHA512withRSA", &history),
        ),
        ("demo.veo/VEOContent.xml".into(), content),
        ("demo.veo/VEOHistory.xml".into(), history),
        ("demo.veo/S-1/minutes.txt".into(), doc),
        ("demo.veo/S-1/minutes.pdf".into(), pdf),
    ])
}

#[test]
fn v3_signatures_and_content_hashes_hold() {
    let Some(key) = v3::Key::new() else { return };
    let m = build_v3(&key);
    let r = veo::verify_v3(&m, &m.names());
    assert_eq!(r.kind, "veo-v3");
    assert_eq!(r.root, "vers:VEOContentFile");
    assert_eq!(r.id.as_deref(), Some("demo.veo"));
    all_authentic(&r);
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.signatures[0].id, "VEOContentSignature1.xml");
    assert_eq!(r.signatures[0].algorithm, "SHA256withRSA");
    assert_eq!(r.signatures[1].algorithm, "SHA512withRSA");
    assert_eq!(r.signatures[0].within_validity, Some(true));
    assert_eq!(r.components.len(), 2);
    assert_eq!(r.components[0].name, "S-1/minutes.txt");
    assert_eq!(r.components[0].found_size, Some(29));
    assert_eq!(
        r.components[0].recorded_digest,
        r.components[0].found_digest
    );
}

#[test]
fn v3_damage_is_located() {
    let Some(key) = v3::Key::new() else { return };
    // A changed content file: its hash fails, the signatures still hold.
    let mut m = build_v3(&key);
    m.set(
        "demo.veo/S-1/minutes.txt",
        b"The minutes of the meeting!\r\n".to_vec(),
    );
    let r = veo::verify_v3(&m, &m.names());
    assert_eq!(r.components[0].verdict, Verdict::Broken);
    assert_eq!(r.components[1].verdict, Verdict::Authentic);
    assert!(r.signatures.iter().all(|s| s.verdict == Verdict::Authentic));
    assert_eq!(r.verdict, Verdict::Broken);

    // A changed VEOContent.xml (line endings): the content signature fails, the history holds.
    let mut m = build_v3(&key);
    let lf = String::from_utf8(m.0[3].1.clone())
        .unwrap()
        .replace("\r\n", "\n");
    m.set("demo.veo/VEOContent.xml", lf.into_bytes());
    let r = veo::verify_v3(&m, &m.names());
    assert_eq!(r.signatures[0].verdict, Verdict::Broken);
    assert_eq!(r.signatures[1].verdict, Verdict::Authentic);
    assert_eq!(r.components[0].verdict, Verdict::Authentic);

    // A missing history signature and a missing content file.
    let mut m = build_v3(&key);
    m.0.retain(|(n, _)| {
        n != "demo.veo/VEOHistorySignature1.xml" && n != "demo.veo/S-1/minutes.pdf"
    });
    let r = veo::verify_v3(&m, &m.names());
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.signatures[1].verdict, Verdict::Broken);
    assert!(r
        .problems
        .iter()
        .any(|p| p.message == "no VEOHistorySignature<n>.xml signs it"));
    assert_eq!(
        r.components[1].detail,
        "demo.veo/S-1/minutes.pdf is missing"
    );
    assert_eq!(r.verdict, Verdict::Broken);

    // No VEOContent.xml at all.
    let r = veo::verify_v3(&m, &["x.veo/other".to_owned()]);
    assert!(!r.well_formed);
    assert_eq!(r.verdict, Verdict::Broken);
}

/// An outer VEO signed with a throwaway key over `signed_inner` (the inside of its
/// vers:SignedObject).
fn signed_veo(key: &v3::Key, signed_inner: &str) -> String {
    let signed = format!(
        "<vers:SignedObject vers:VEOVersion=\"2.0\">\n{signed_inner}</vers:SignedObject>\n"
    );
    let sig = key.sign("sha1", &veo::strip_whitespace(signed.as_bytes()));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<vers:VERSEncapsulatedObject xmlns:vers=\"x\">\n<vers:SignatureBlock vers:id=\"S\">\n<vers:SignatureAlgorithm><vers:SignatureAlgorithmIdentifier>1.2.840.113549.1.1.5</vers:SignatureAlgorithmIdentifier></vers:SignatureAlgorithm>\n<vers:Signature>\n{}\n</vers:Signature>\n<vers:CertificateBlock><vers:Certificate>\n{}\n</vers:Certificate></vers:CertificateBlock>\n</vers:SignatureBlock>\n{signed}</vers:VERSEncapsulatedObject>\n",
        v3::b64(&sig),
        v3::b64(&key.cert_der)
    )
}

#[test]
fn a_veo_filed_as_a_document_is_a_child() {
    let Some(inner) = corpus_file("fileVEO.veo") else {
        return;
    };
    let Some(key) = v3::Key::new() else { return };
    let outer = signed_veo(
        &key,
        &format!(
            "<vers:ObjectContent><vers:Record><vers:Document><vers:DocumentMetadata><vers:DocumentTitle><vers:Text>old file</vers:Text></vers:DocumentTitle></vers:DocumentMetadata><vers:Encoding><vers:EncodingMetadata><vers:FileRendering><vers:RenderingKeywords>'.b64; .veo'</vers:RenderingKeywords></vers:FileRendering></vers:EncodingMetadata><vers:DocumentData>\n{}\n</vers:DocumentData></vers:Encoding></vers:Document></vers:Record></vers:ObjectContent>\n",
            v3::b64(&inner)
        ),
    );
    let r = verify_v2(outer.as_bytes());
    all_authentic(&r);
    assert_eq!(
        r.signatures[0].algorithm,
        "SHA1withRSA (1.2.840.113549.1.1.5)"
    );
    assert_eq!(r.components.len(), 1);
    assert_eq!(r.components[0].name, "old file.veo");
    assert_eq!(
        r.components[0].found_digest.as_deref(),
        Some(sha256(&inner).as_str())
    );
    assert_eq!(r.children.len(), 1);
    all_authentic(&r.children[0]);
    assert_eq!(r.children[0].root, "vers:VERSEncapsulatedObject");
    assert_eq!(r.children[0].signatures.len(), 2);

    let docs = veo::extract_documents(outer.as_bytes());
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].bytes, inner);
    assert_eq!(docs[0].depth, 0);
}

#[test]
fn a_silently_changed_base64_character_breaks_signature_and_documents() {
    let Some(mut b) = corpus_file("1D-2E.veo") else {
        return;
    };
    // Inside the pdf's base64: swap one valid character for another valid one.
    let pdf = find(&b, b"Revision-1-Document-1-Encoding-2-DocumentData\">").unwrap();
    let at = pdf + 2000;
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    let r = verify_v2(&b);
    assert!(r.well_formed);
    assert_eq!(r.signatures[0].verdict, Verdict::Broken);
    assert_eq!(r.signatures[1].verdict, Verdict::Authentic);
    assert_eq!(r.components[1].found_size, Some(896_223));
    assert_ne!(r.components[1].found_digest.as_deref(), Some(PDF_SHA256));
    assert_eq!(r.components[1].verdict, Verdict::Broken);
    assert_eq!(r.components[0].found_digest.as_deref(), Some(DOCX_SHA256));
    assert_eq!(r.verdict, Verdict::Broken);
}

#[test]
fn documents_extract_for_writing_out() {
    let Some(b) = corpus_file("1D-2E.veo") else {
        return;
    };
    let docs = veo::extract_documents(&b);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].name, "S-39-6-Nov.docx");
    assert_eq!(sha256(&docs[0].bytes), DOCX_SHA256);
    assert_eq!(docs[1].name, "S-39-6-Nov.pdf");
    assert_eq!(sha256(&docs[1].bytes), PDF_SHA256);
    assert_eq!(docs[1].bad_lines, 0);
}
