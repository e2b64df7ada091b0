//! Digests computed over the same bytes at once.

use md5::Md5;
use sha2::{Digest, Sha256};

/// MD5 and SHA-256 of one stream, as DFXML reports carry them.
#[derive(Default, Clone)]
pub struct FileDigests {
    md5: Md5,
    sha256: Sha256,
}

/// Finished digests in hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DigestHex {
    pub md5: String,
    pub sha256: String,
}

impl FileDigests {
    /// Feed bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha256.update(bytes);
    }

    /// Finish and format.
    pub fn finish(self) -> DigestHex {
        DigestHex {
            md5: crate::util::hex(&self.md5.finalize()),
            sha256: crate::util::hex(&self.sha256.finalize()),
        }
    }
}

/// SHA-256 of bytes in hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::util::hex(&Sha256::digest(bytes))
}
