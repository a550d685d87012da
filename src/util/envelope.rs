//! The 32-byte header every localrec binary file starts with: magic, format
//! version, payload length and CRC-32. Checked before anything inside is read.
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8 | magic (per file kind) |
//! | 8  | 4 | format version |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | payload length in bytes |
//! | 24 | 4 | CRC-32 (IEEE) of the payload |
//! | 28 | 4 | reserved, zero |

use crate::util::error::{Error, FileKind, Result};

/// Size of the header before the payload.
pub const HEADER_LEN: usize = 32;

/// The header layout of one kind of file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope {
    pub kind: FileKind,
    pub magic: [u8; 8],
    pub version: u32,
}

impl Envelope {
    /// Checks length, magic, version, payload length and checksum; returns the payload.
    pub fn open<'a>(&self, bytes: &'a [u8]) -> Result<&'a [u8]> {
        self.open_since(bytes, self.version)
            .map(|(_, payload)| payload)
    }

    /// Like [`open`](Self::open), accepting any version from `oldest` to this
    /// envelope's; returns the file's version with the payload.
    pub fn open_since<'a>(&self, bytes: &'a [u8], oldest: u32) -> Result<(u32, &'a [u8])> {
        let available = bytes.len() as u64;
        let kind = self.kind;
        if bytes.len() >= self.magic.len() && bytes[..self.magic.len()] != self.magic {
            return Err(self.bad_magic(bytes));
        }
        if bytes.len() < HEADER_LEN {
            if bytes.len() < self.magic.len() && !self.magic.starts_with(bytes) {
                return Err(self.bad_magic(bytes));
            }
            return Err(Error::Truncated {
                kind,
                needed: HEADER_LEN as u64,
                available,
            });
        }
        if u32_at(bytes, 12) != 0 || u32_at(bytes, 28) != 0 {
            return Err(Error::Malformed {
                kind,
                reason: "reserved header bytes are not zero".into(),
            });
        }
        let version = u32_at(bytes, 8);
        if !(oldest..=self.version).contains(&version) {
            return Err(Error::UnsupportedVersion {
                kind,
                found: version,
                supported: self.version,
            });
        }
        let needed = (HEADER_LEN as u64).saturating_add(u64_at(bytes, 16));
        if needed > available {
            return Err(Error::Truncated {
                kind,
                needed,
                available,
            });
        }
        // `needed <= available`, a usize, so the cast is exact.
        let payload = &bytes[HEADER_LEN..needed as usize];
        let expected = u32_at(bytes, 24);
        let found = crc32fast::hash(payload);
        if expected != found {
            return Err(Error::ChecksumMismatch {
                kind,
                expected,
                found,
            });
        }
        Ok((version, payload))
    }

    /// Header + payload.
    pub fn seal(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&self.magic);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn bad_magic(&self, bytes: &[u8]) -> Error {
        let mut found = [0u8; 8];
        let n = bytes.len().min(8);
        found[..n].copy_from_slice(&bytes[..n]);
        Error::BadMagic {
            kind: self.kind,
            found,
            expected: self.magic,
        }
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: Envelope = Envelope {
        kind: FileKind::Profile,
        magic: *b"TESTMAG\0",
        version: 3,
    };

    #[test]
    fn seals_and_opens() {
        let sealed = E.seal(b"payload");
        assert_eq!(E.open(&sealed).unwrap(), b"payload");
        // Trailing bytes after the declared payload are ignored (e.g. padding).
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(E.open(&longer).unwrap(), b"payload");
    }

    #[test]
    fn every_defect_is_typed() {
        let sealed = E.seal(b"payload bytes");
        for len in 0..sealed.len() {
            let err = E.open(&sealed[..len]).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Truncated {
                        kind: FileKind::Profile,
                        ..
                    }
                ),
                "{len}: {err}"
            );
        }
        assert!(matches!(
            E.open(b"NOTMAGIC and more"),
            Err(Error::BadMagic { .. })
        ));
        assert!(matches!(E.open(b"XY"), Err(Error::BadMagic { .. })));
        let mut old = sealed.clone();
        old[8] = 2;
        assert!(matches!(
            E.open(&old),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
        assert_eq!(E.open_since(&old, 2).unwrap(), (2, &b"payload bytes"[..]));
        let mut v = sealed.clone();
        v[8] = 4;
        assert!(matches!(
            E.open(&v),
            Err(Error::UnsupportedVersion {
                found: 4,
                supported: 3,
                ..
            })
        ));
        let mut c = sealed.clone();
        c[HEADER_LEN + 2] ^= 1;
        assert!(matches!(E.open(&c), Err(Error::ChecksumMismatch { .. })));
        let mut reserved = sealed.clone();
        reserved[13] = 1;
        assert!(matches!(E.open(&reserved), Err(Error::Malformed { .. })));
        let mut huge = sealed;
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(E.open(&huge), Err(Error::Truncated { .. })));
    }
}
