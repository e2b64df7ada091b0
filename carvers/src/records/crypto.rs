//! RSA PKCS#1 v1.5 signature checks against an embedded X.509 certificate, and the facts of that
//! certificate a report needs. Offline only: no chain building and no revocation check.

use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::PublicKey as RsaPublicKey;
use serde::Serialize;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

/// The digest inside a PKCS#1 v1.5 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigDigest {
    /// SHA-1 (xmldsig `rsa-sha1`, Java `SHA1withRSA`).
    Sha1,
    /// SHA-256 (xmldsig `rsa-sha256`, Java `SHA256withRSA`).
    Sha256,
    /// SHA-512.
    Sha512,
}

impl SigDigest {
    /// Recognise an xmldsig SignatureMethod URI or a JCA / VERS algorithm name.
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.trim().to_ascii_lowercase();
        if n.ends_with("rsa-sha1") || n.starts_with("sha1withrsa") || n == "sha1" {
            Some(SigDigest::Sha1)
        } else if n.ends_with("rsa-sha256") || n.starts_with("sha256withrsa") || n == "sha256" {
            Some(SigDigest::Sha256)
        } else if n.ends_with("rsa-sha512") || n.starts_with("sha512withrsa") || n == "sha512" {
            Some(SigDigest::Sha512)
        } else {
            None
        }
    }
}

/// What a report says about a signer's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject distinguished name (RFC 4514 form).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number in hexadecimal.
    pub serial: String,
    /// Start of validity (RFC 3339, UTC).
    pub not_before: String,
    /// End of validity (RFC 3339, UTC).
    pub not_after: String,
    /// Size of the RSA modulus in bits, when the key is RSA.
    pub key_bits: Option<usize>,
    /// SHA-256 of the certificate's DER bytes, hexadecimal.
    pub sha256: String,
}

/// Why a signature could not be shown to hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The certificate's bytes are not a DER X.509 certificate.
    #[error("certificate unreadable: {0}")]
    BadCertificate(String),
    /// The certificate holds a key that is not RSA, or an RSA key this library refuses.
    #[error("public key unusable: {0}")]
    BadKey(String),
    /// The signature value is not a PKCS#1 v1.5 signature of the key's size.
    #[error("signature value malformed: {0}")]
    BadSignature(String),
    /// The arithmetic was done and the signature does not match the message.
    #[error("signature does not match the signed bytes")]
    Mismatch,
}

/// Decode base64 the way signature and certificate elements hold it: MIME line breaks and any
/// other whitespace ignored.
pub fn decode_base64_lenient(text: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean)
}

/// Parse a DER certificate.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate, CryptoError> {
    Certificate::from_der(der).map_err(|e| CryptoError::BadCertificate(e.to_string()))
}

/// The facts of a certificate a report shows.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, CryptoError> {
    use sha2::Digest as _;
    let cert = parse_certificate(der)?;
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let key_bits = public_key(&cert).ok().map(|k| {
        use rsa::traits::PublicKeyParts;
        k.n().bit_width() as usize
    });
    Ok(CertInfo {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial: hex_upper(tbs.serial_number().as_bytes()),
        not_before: format_time(validity.not_before.to_unix_duration().as_secs()),
        not_after: format_time(validity.not_after.to_unix_duration().as_secs()),
        key_bits,
        sha256: super::hex(&sha2::Sha256::digest(der)),
    })
}

fn public_key(cert: &Certificate) -> Result<RsaPublicKey, CryptoError> {
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CryptoError::BadKey(e.to_string()))?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|e| CryptoError::BadKey(e.to_string()))
}

/// Check an RSA PKCS#1 v1.5 signature over `message` with the key of the DER certificate.
pub fn verify_rsa(
    cert_der: &[u8],
    digest: SigDigest,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let cert = parse_certificate(cert_der)?;
    let key = public_key(&cert)?;
    let sig =
        Signature::try_from(signature).map_err(|e| CryptoError::BadSignature(e.to_string()))?;
    let outcome = match digest {
        SigDigest::Sha1 => VerifyingKey::<sha1::Sha1>::new(key).verify(message, &sig),
        SigDigest::Sha256 => VerifyingKey::<sha2::Sha256>::new(key).verify(message, &sig),
        SigDigest::Sha512 => VerifyingKey::<sha2::Sha512>::new(key).verify(message, &sig),
    };
    outcome.map_err(|_| CryptoError::Mismatch)
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn format_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formatting() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_178_758_250), "2007-05-10T00:50:50Z");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn digest_names() {
        assert_eq!(
            SigDigest::from_name("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
            Some(SigDigest::Sha1)
        );
        assert_eq!(
            SigDigest::from_name("SHA256withRSA"),
            Some(SigDigest::Sha256)
        );
        assert_eq!(SigDigest::from_name("md5"), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            verify_rsa(b"not a cert", SigDigest::Sha1, b"m", b"s"),
            Err(CryptoError::BadCertificate(_))
        ));
        assert!(cert_info(&[0x30, 0x82, 0xff, 0xff]).is_err());
    }
}
