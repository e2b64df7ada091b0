//! VEO v3: a ZIP whose members lie under one folder `name.veo/`: `VEOContent.xml` (metadata and
//! the list of content files with their hashes), `VEOHistory.xml`, and signature files
//! `VEOContentSignature<n>.xml` / `VEOHistorySignature<n>.xml`, each a `vers:SignatureBlock`
//! holding `vers:SignatureAlgorithm` (a JCA name such as `SHA256withRSA`), `vers:Signature`
//! (base64) and `vers:CertificateChain/vers:Certificate` (signer first). A signature covers the
//! raw bytes of the file it signs. Content files are listed in `vers:ContentFile` elements with
//! `vers:PathName` (relative to the VEO folder) and `vers:HashValue` (base64), under the
//! algorithm named once in `vers:HashFunctionAlgorithm`.

use super::crypto;
use super::veo::{hex, parse_vers_date, signature_algorithm};
use super::veo_scan;
use super::{
    ComponentReport, ComponentSource, DigestAlg, ManifestEntry, Problem, RecordReport,
    SignatureReport, Verdict,
};

fn file_problem(file: &str, offset: Option<u64>, message: String) -> Problem {
    Problem {
        offset,
        file: Some(file.to_owned()),
        message,
    }
}

/// Verify a VEO v3 whose members (as named in the ZIP) are `member_names`, fetched from `src`:
/// every content and history signature over the raw bytes of the file it signs, and every
/// content file's hash listed in `VEOContent.xml`.
pub fn verify_v3(src: &dyn ComponentSource, member_names: &[String]) -> RecordReport {
    let mut r = RecordReport::new("veo-v3", "vers:VEOContentFile", "utf-8");
    r.notes
        .push("certificates are checked offline: no chain building, no revocation check".into());
    let Some(content_name) = member_names
        .iter()
        .find(|n| n.rsplit('/').next() == Some("VEOContent.xml"))
    else {
        r.well_formed = false;
        r.problems.push(file_problem(
            "VEOContent.xml",
            None,
            "no VEOContent.xml member".into(),
        ));
        r.settle();
        return r;
    };
    let prefix = &content_name[..content_name.len() - "VEOContent.xml".len()];
    r.id = Some(prefix.trim_end_matches('/').to_owned()).filter(|p| !p.is_empty());

    let content = fetch(src, content_name, &mut r);
    for (signed, stem) in [
        ("VEOContent.xml", "VEOContentSignature"),
        ("VEOHistory.xml", "VEOHistorySignature"),
    ] {
        let signed_name = format!("{prefix}{signed}");
        let bytes = if signed == "VEOContent.xml" {
            content.clone()
        } else {
            fetch(src, &signed_name, &mut r)
        };
        let mut sig_names: Vec<&String> = member_names
            .iter()
            .filter(|n| {
                n.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix(stem))
                    .and_then(|rest| rest.strip_suffix(".xml"))
                    .is_some_and(|num| !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
            })
            .collect();
        sig_names.sort();
        if sig_names.is_empty() {
            r.problems.push(file_problem(
                &signed_name,
                None,
                format!("no {stem}<n>.xml signs it"),
            ));
            r.signatures.push(SignatureReport {
                id: format!("{stem}*.xml"),
                algorithm: String::new(),
                verdict: Verdict::Broken,
                variant: None,
                signer: None,
                within_validity: None,
                detail: format!("no signature file for {signed}"),
                offset: None,
            });
        }
        for name in sig_names {
            let sig_file = fetch(src, name, &mut r);
            r.signatures.push(check_signature_file(
                name,
                sig_file.as_deref(),
                &signed_name,
                bytes.as_deref(),
                &mut r.problems,
            ));
        }
    }

    if let Some(c) = content.as_deref() {
        let scan = veo_scan::scan(c);
        for p in &scan.problems {
            r.problems
                .push(file_problem(content_name, p.offset, p.message.clone()));
        }
        r.well_formed &= scan.well_formed;
        if let Some(&root) = scan.roots.first() {
            r.root = scan.elements[root].name.clone();
            let alg_name = scan
                .descendant(root, "vers:HashFunctionAlgorithm")
                .map(|e| scan.text(c, e))
                .unwrap_or_default();
            let alg = DigestAlg::from_name(&alg_name);
            let mut todo = vec![root];
            while let Some(i) = todo.pop() {
                if scan.elements[i].name == "vers:ContentFile" {
                    r.components
                        .push(content_file(src, &scan, c, i, prefix, alg, &alg_name));
                    continue;
                }
                todo.extend(scan.elements[i].children.iter().rev().copied());
            }
        }
    }
    r.settle();
    r
}

fn fetch(src: &dyn ComponentSource, name: &str, r: &mut RecordReport) -> Option<Vec<u8>> {
    match src.fetch(name) {
        Ok(Some(b)) => Some(b.into_owned()),
        Ok(None) => {
            r.problems
                .push(file_problem(name, None, "member missing".into()));
            r.well_formed = false;
            None
        }
        Err(e) => {
            r.problems
                .push(file_problem(name, None, format!("member unreadable: {e}")));
            r.well_formed = false;
            None
        }
    }
}

fn check_signature_file(
    name: &str,
    sig_file: Option<&[u8]>,
    signed_name: &str,
    signed: Option<&[u8]>,
    problems: &mut Vec<Problem>,
) -> SignatureReport {
    let mut rep = SignatureReport {
        id: name.rsplit('/').next().unwrap_or(name).to_owned(),
        algorithm: String::new(),
        verdict: Verdict::Broken,
        variant: Some("raw file bytes".into()),
        signer: None,
        within_validity: None,
        detail: String::new(),
        offset: None,
    };
    let Some(sf) = sig_file else {
        rep.detail = "signature file missing".into();
        return rep;
    };
    let scan = veo_scan::scan(sf);
    for p in &scan.problems {
        problems.push(file_problem(name, p.offset, p.message.clone()));
    }
    let Some(&root) = scan.roots.first() else {
        rep.detail = "signature file holds no XML".into();
        return rep;
    };
    let alg_text = scan
        .descendant(root, "vers:SignatureAlgorithm")
        .map(|e| scan.text(sf, e))
        .unwrap_or_default();
    let (digest, algorithm) = signature_algorithm(&alg_text);
    rep.algorithm = algorithm;
    let sig = scan
        .descendant(root, "vers:Signature")
        .and_then(|e| crypto::decode_base64_lenient(scan.content(sf, e)).ok());
    let cert = scan
        .descendant(root, "vers:CertificateChain")
        .and_then(|cc| scan.child(cc, "vers:Certificate"))
        .and_then(|e| crypto::decode_base64_lenient(scan.content(sf, e)).ok());
    rep.signer = cert.as_deref().and_then(|c| crypto::cert_info(c).ok());
    let when = scan
        .descendant(root, "vers:SignatureDateTime")
        .and_then(|e| parse_vers_date(&scan.text(sf, e)));
    if let (Some(c), Some(t)) = (&cert, when) {
        rep.within_validity = crypto::parse_certificate(c).ok().map(|cert| {
            let v = cert.tbs_certificate().validity();
            let nb = v.not_before.to_unix_duration().as_secs() as i64;
            let na = v.not_after.to_unix_duration().as_secs() as i64;
            nb <= t && t <= na
        });
    }
    let (verdict, detail) = match (digest, sig, cert, signed) {
        (None, ..) => (
            Verdict::Broken,
            format!("signature algorithm '{}' is not supported", rep.algorithm),
        ),
        (_, None, ..) => (Verdict::Broken, "no readable vers:Signature".to_owned()),
        (_, _, None, _) => (
            Verdict::Broken,
            "no readable certificate in vers:CertificateChain".to_owned(),
        ),
        (_, _, _, None) => (Verdict::Broken, format!("{signed_name} is missing")),
        (Some(d), Some(s), Some(c), Some(m)) => match crypto::verify_rsa(&c, d, m, &s) {
            Ok(()) => (
                Verdict::Authentic,
                format!(
                    "{} holds over the {} bytes of {signed_name}",
                    rep.algorithm,
                    m.len()
                ),
            ),
            Err(e) => (
                Verdict::Broken,
                format!("{} over {signed_name}: {e}", rep.algorithm),
            ),
        },
    };
    rep.verdict = verdict;
    rep.detail = detail;
    rep
}

/// The content files a `VEOContent.xml` lists with their hashes, as manifest entries (VERS V3
/// records no sizes, so the entries have none).
pub fn content_manifest(bytes: &[u8]) -> Result<Vec<ManifestEntry>, String> {
    let scan = veo_scan::scan(bytes);
    let Some(&root) = scan.roots.first() else {
        return Err("no root element".into());
    };
    if scan.elements[root].name != "vers:VEOContentFile" {
        return Err(format!(
            "root element is {}, not vers:VEOContentFile",
            scan.elements[root].name
        ));
    }
    let alg_name = scan
        .descendant(root, "vers:HashFunctionAlgorithm")
        .map(|e| scan.text(bytes, e))
        .unwrap_or_default();
    let Some(alg) = DigestAlg::from_name(&alg_name) else {
        return Err(format!("hash function {alg_name:?} is not supported"));
    };
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(i) = todo.pop() {
        if scan.elements[i].name == "vers:ContentFile" {
            let path = scan
                .child(i, "vers:PathName")
                .map(|e| scan.text(bytes, e))
                .unwrap_or_default();
            let digest = scan
                .child(i, "vers:HashValue")
                .and_then(|e| crypto::decode_base64_lenient(scan.content(bytes, e)).ok())
                .filter(|d| d.len() == alg.output_len());
            match digest {
                Some(digest) => out.push(ManifestEntry {
                    name: path,
                    size: None,
                    alg,
                    digest,
                }),
                None => {
                    return Err(format!(
                        "vers:ContentFile {path:?} at byte {:#x} has no usable vers:HashValue",
                        scan.elements[i].start
                    ))
                }
            }
            continue;
        }
        todo.extend(scan.elements[i].children.iter().rev().copied());
    }
    Ok(out)
}

fn content_file(
    src: &dyn ComponentSource,
    scan: &veo_scan::Scan,
    c: &[u8],
    el: usize,
    prefix: &str,
    alg: Option<DigestAlg>,
    alg_name: &str,
) -> ComponentReport {
    let path = scan
        .child(el, "vers:PathName")
        .map(|e| scan.text(c, e))
        .unwrap_or_default();
    let recorded = scan
        .child(el, "vers:HashValue")
        .and_then(|e| crypto::decode_base64_lenient(scan.content(c, e)).ok());
    let member = format!("{prefix}{}", path.trim_start_matches('/'));
    let mut rep = ComponentReport {
        name: path.clone(),
        recorded_size: None,
        found_size: None,
        alg,
        recorded_digest: recorded.as_deref().map(hex),
        found_digest: None,
        verdict: Verdict::Broken,
        transform: None,
        detail: String::new(),
        restored: None,
    };
    // PathName is relative to the VEO folder; a writer that put the folder in it is accepted.
    let fetched = match src.fetch(&member) {
        Ok(None) if !prefix.is_empty() => src.fetch(path.trim_start_matches('/')),
        other => other,
    };
    let data = match fetched {
        Ok(Some(d)) => d,
        Ok(None) => {
            rep.detail = format!("{member} is missing");
            return rep;
        }
        Err(e) => {
            rep.detail = format!("{member} unreadable: {e}");
            return rep;
        }
    };
    rep.found_size = Some(data.len() as u64);
    let Some(found) = alg.and_then(|a| a.digest(&data)) else {
        rep.detail = format!("hash function '{alg_name}' is not supported");
        return rep;
    };
    rep.found_digest = Some(hex(&found));
    match recorded {
        Some(r) if r == found => {
            rep.verdict = Verdict::Authentic;
            rep.detail = format!("{alg_name} of {member} matches vers:HashValue");
        }
        Some(_) => rep.detail = format!("{alg_name} of {member} differs from vers:HashValue"),
        None => rep.detail = "vers:HashValue missing or not base64".into(),
    }
    rep
}
