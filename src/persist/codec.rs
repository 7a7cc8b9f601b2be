//! A small little-endian binary encoding for the learned state (journals,
//! brand overlays): every read is checked, so that a damaged file is an
//! error naming what is wrong, never a panic or a huge allocation.

/// Bytes being written.
#[derive(Debug, Default)]
pub(crate) struct Enc {
    pub bytes: Vec<u8>,
}

impl Enc {
    pub fn u8(&mut self, x: u8) {
        self.bytes.push(x);
    }

    pub fn u32(&mut self, x: u32) {
        self.bytes.extend_from_slice(&x.to_le_bytes());
    }

    pub fn u64(&mut self, x: u64) {
        self.bytes.extend_from_slice(&x.to_le_bytes());
    }

    pub fn f32(&mut self, x: f32) {
        self.bytes.extend_from_slice(&x.to_le_bytes());
    }

    /// A length that the reader checks against what is left.
    pub fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    /// A string that may be absent (a lesson's brand): a flag byte, 0 or
    /// 1, then the string when there is one.
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
}

/// Bytes being read; errors say what was being read.
#[derive(Debug)]
pub(crate) struct Dec<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Dec<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Dec { bytes, at: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if n > self.bytes.len() - self.at {
            return Err(format!("truncated: the data ends inside the {what}"));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A finite `f32`.
    pub fn f32(&mut self, what: &str) -> Result<f32, String> {
        let x = f32::from_le_bytes(self.array(what)?);
        if x.is_finite() {
            Ok(x)
        } else {
            Err(format!("corrupt: the {what} is not finite"))
        }
    }

    /// A count of items that take at least `min_bytes` each: one that
    /// cannot fit in what is left is refused before anything is allocated.
    pub fn len(&mut self, what: &str, min_bytes: usize) -> Result<usize, String> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_bytes.max(1)) > self.bytes.len() - self.at {
            return Err(format!("corrupt: {n} {what} do not fit in the data"));
        }
        Ok(n)
    }

    pub fn str(&mut self, what: &str) -> Result<&'a str, String> {
        let n = self.len(what, 1)?;
        std::str::from_utf8(self.take(n, what)?)
            .map_err(|_| format!("corrupt: a {what} is not UTF-8"))
    }

    /// A string written by [`Enc::opt_str`]; `flag` names its flag byte
    /// and `what` the string, for errors.
    pub fn opt_str(&mut self, flag: &str, what: &str) -> Result<Option<&'a str>, String> {
        match self.u8(flag)? {
            0 => Ok(None),
            1 => self.str(what).map(Some),
            other => Err(format!("corrupt: {flag} {other}")),
        }
    }

    /// Fails unless every byte was read.
    pub fn end(&self) -> Result<(), String> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            n => Err(format!("corrupt: {n} bytes left over")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let mut e = Enc::default();
        e.u8(7);
        e.u32(9);
        e.u64(1 << 40);
        e.f32(-0.5);
        e.str("brand_01");
        let bytes = e.bytes;
        let mut d = Dec::new(&bytes);
        assert_eq!(d.u8("a").unwrap(), 7);
        assert_eq!(d.u32("b").unwrap(), 9);
        assert_eq!(d.u64("c").unwrap(), 1 << 40);
        assert_eq!(d.f32("d").unwrap(), -0.5);
        assert_eq!(d.str("brand").unwrap(), "brand_01");
        d.end().unwrap();
        for cut in 0..bytes.len() {
            let mut d = Dec::new(&bytes[..cut]);
            let r = (|| {
                d.u8("a")?;
                d.u32("b")?;
                d.u64("c")?;
                d.f32("d")?;
                d.str("brand").map(|_| ())
            })();
            assert!(r.is_err(), "cut at {cut}");
        }
        let huge = u32::MAX.to_le_bytes();
        assert!(
            Dec::new(&huge)
                .len("entries", 4)
                .unwrap_err()
                .contains("do not fit")
        );
        let nan = f32::NAN.to_le_bytes();
        assert!(
            Dec::new(&nan)
                .f32("weight")
                .unwrap_err()
                .contains("not finite")
        );
    }
}
