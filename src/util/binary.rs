//! Little-endian binary reading and writing with bounds checks, shared by the
//! index and profile file formats. Every read past the end is a typed
//! [`Error::Truncated`]-style error from the caller's format, never a panic.

/// Appends little-endian values to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct ByteWriter {
    buf: Vec<u8>,
}

impl ByteWriter {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[cfg(not(target_arch = "wasm32"))] // only index building writes these
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// An unsigned LEB128 varint.
    #[cfg(not(target_arch = "wasm32"))] // only index building writes these
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    /// A varint length, then the UTF-8 bytes.
    #[cfg(not(target_arch = "wasm32"))] // only index building writes these
    pub fn vstr(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.bytes(s.as_bytes());
    }
    /// A u32 length, then the UTF-8 bytes.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }
    #[cfg(not(target_arch = "wasm32"))] // only index building writes these
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

/// Why a read failed: the reader ran out, or a string was not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Needed `needed` bytes at `at`, the buffer has `len`.
    Short {
        at: usize,
        needed: usize,
        len: usize,
    },
    /// A length-prefixed string was not valid UTF-8.
    Utf8 { at: usize },
    /// A varint ran past 64 bits.
    Varint { at: usize },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Short { at, needed, len } => {
                write!(
                    f,
                    "needs {needed} bytes at offset {at}, only {} left",
                    len.saturating_sub(*at)
                )
            }
            ReadError::Utf8 { at } => write!(f, "string at offset {at} is not UTF-8"),
            ReadError::Varint { at } => write!(f, "varint at offset {at} is too long"),
        }
    }
}

/// Reads little-endian values from a slice, checking every bound.
#[derive(Debug, Clone)]
pub(crate) struct ByteReader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> ByteReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, at: 0 }
    }
    pub fn position(&self) -> usize {
        self.at
    }
    /// Moves to an absolute offset (checked).
    pub fn seek(&mut self, at: usize) -> Result<(), ReadError> {
        if at > self.buf.len() {
            return Err(ReadError::Short {
                at,
                needed: 0,
                len: self.buf.len(),
            });
        }
        self.at = at;
        Ok(())
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.at
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(ReadError::Short {
                at: self.at,
                needed: n,
                len: self.buf.len(),
            })?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, ReadError> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, ReadError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn f32(&mut self) -> Result<f32, ReadError> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    pub fn f64(&mut self) -> Result<f64, ReadError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    /// An unsigned LEB128 varint (at most 10 bytes).
    pub fn varint(&mut self) -> Result<u64, ReadError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let at = self.at;
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(ReadError::Varint { at });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ReadError::Varint { at: self.at })
    }
    /// A varint length, then UTF-8 bytes.
    pub fn vstr(&mut self) -> Result<&'a str, ReadError> {
        let len = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
        let at = self.at;
        std::str::from_utf8(self.take(len)?).map_err(|_| ReadError::Utf8 { at })
    }
    pub fn str(&mut self) -> Result<&'a str, ReadError> {
        let len = self.u32()? as usize;
        let at = self.at;
        std::str::from_utf8(self.take(len)?).map_err(|_| ReadError::Utf8 { at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_bounds() {
        let mut w = ByteWriter::new();
        w.u8(7);
        w.u32(0xdead_beef);
        w.u64(u64::MAX - 1);
        w.f32(1.5);
        w.f64(-2.25);
        w.str("héllo");
        for v in [0, 127, 128, 300, u64::MAX] {
            w.varint(v);
        }
        w.vstr("ü");
        let bytes = w.into_inner();
        let mut r = ByteReader::new(&bytes);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u32().unwrap(), 0xdead_beef);
        assert_eq!(r.u64().unwrap(), u64::MAX - 1);
        assert_eq!(r.f32().unwrap(), 1.5);
        assert_eq!(r.f64().unwrap(), -2.25);
        assert_eq!(r.str().unwrap(), "héllo");
        for v in [0, 127, 128, 300, u64::MAX] {
            assert_eq!(r.varint().unwrap(), v);
        }
        assert_eq!(r.vstr().unwrap(), "ü");
        assert_eq!(r.remaining(), 0);
        assert!(matches!(
            ByteReader::new(&[0xff; 11]).varint(),
            Err(ReadError::Varint { .. })
        ));
        assert!(matches!(
            ByteReader::new(&[0x80]).varint(),
            Err(ReadError::Short { .. })
        ));
        assert!(matches!(r.u8(), Err(ReadError::Short { .. })));
        let mut r = ByteReader::new(&[255, 255, 255, 255]);
        assert!(
            matches!(r.str(), Err(ReadError::Short { .. })),
            "huge length prefix"
        );
        let mut r = ByteReader::new(&[1, 0, 0, 0, 0xff]);
        assert!(matches!(r.str(), Err(ReadError::Utf8 { .. })));
    }
}
