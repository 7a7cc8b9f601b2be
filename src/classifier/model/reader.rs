//! Reading a model file's payload: every field checked, so that a damaged
//! file is an error naming what is wrong, never a panic.

use super::{MAX_BITS, MIN_BITS, Model};
use crate::Error;
use crate::classifier::learner::Fitted;
pub(crate) use crate::codes::MAX_LOG_ODDS;

pub(super) fn parse_payload(payload: &[u8]) -> Result<Model, Error> {
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    let bits = r.u32("table size")?;
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(Error::model(format!(
            "table size 2^{bits} is outside 2^{MIN_BITS}..=2^{MAX_BITS}"
        )));
    }
    let online_rate = r.finite_f32("online learning rate")?;
    let l2 = r.finite_f32("l2")?;
    let bias = bounded(r.finite_f32("bias")?, "classifier bias")?;
    let classifier_offset = bounded(r.finite_f32("classifier offset")?, "classifier offset")?;
    if classifier_offset < 0.0 {
        return Err(Error::model("corrupt: negative classifier offset"));
    }
    let size = 1usize << bits;
    let count = r.u32("weight count")? as usize;
    if count > size || count.saturating_mul(12) > r.remaining() {
        return Err(Error::model(format!(
            "corrupt: {count} weights do not fit a table of {size} or the file"
        )));
    }
    let mut weights = vec![0.0f32; size];
    let mut sq_grad = vec![0.0f32; size];
    let mut last: Option<usize> = None;
    for _ in 0..count {
        let j = r.u32("weight index")? as usize;
        if j >= size || last.is_some_and(|l| j <= l) {
            return Err(Error::model(format!(
                "corrupt: weight index {j} out of order or outside the table"
            )));
        }
        last = Some(j);
        weights[j] = bounded(r.finite_f32("weight")?, &format!("classifier weight {j}"))?;
        sq_grad[j] = r.finite_f32("gradient sum")?;
        if sq_grad[j] < 0.0 {
            return Err(Error::model("corrupt: negative gradient sum"));
        }
    }
    let combination_bias = match r.take(1, "bias flag")?[0] {
        0 => None,
        1 => Some(bounded(
            r.finite_f64("combination bias")?,
            "combination bias",
        )?),
        other => return Err(Error::model(format!("corrupt: bias flag {other}"))),
    };
    let codes = r.u32("code count")? as usize;
    if codes > 10_000 {
        return Err(Error::model(format!("corrupt: {codes} reason codes")));
    }
    let mut combination = Vec::with_capacity(codes);
    for _ in 0..codes {
        let len = usize::from(r.u16("code length")?);
        let code = std::str::from_utf8(r.take(len, "code")?)
            .map_err(|_| Error::model("corrupt: a reason code is not UTF-8"))?
            .to_string();
        let w = bounded(
            r.finite_f64("combination weight")?,
            &format!("combination weight of {code}"),
        )?;
        combination.push((code, w));
    }
    if r.remaining() != 0 {
        return Err(Error::model("corrupt: bytes left over in the payload"));
    }
    Ok(Model {
        bits,
        online_rate,
        l2,
        fitted: Fitted {
            bias,
            weights,
            sq_grad,
        },
        classifier_offset,
        combination,
        combination_bias,
    })
}

pub(super) struct Reader<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        if n > self.remaining() {
            return Err(Error::model(format!(
                "truncated: the file ends inside the {what}"
            )));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub fn finite_f32(&mut self, what: &str) -> Result<f32, Error> {
        finite(f32::from_le_bytes(self.array(what)?), what)
    }

    pub fn finite_f64(&mut self, what: &str) -> Result<f64, Error> {
        finite(f64::from_le_bytes(self.array(what)?), what)
    }
}

/// `x`, or an error naming `what` when it is beyond ±[`MAX_LOG_ODDS`].
fn bounded<T: Copy + Into<f64>>(x: T, what: &str) -> Result<T, Error> {
    let v: f64 = x.into();
    if v.abs() <= MAX_LOG_ODDS {
        Ok(x)
    } else {
        Err(Error::model(format!(
            "corrupt: the {what} is {v:e}, outside -{MAX_LOG_ODDS} to {MAX_LOG_ODDS}"
        )))
    }
}

/// `x`, or an error naming `what` when it is infinite or NaN.
fn finite<T: Copy + Into<f64>>(x: T, what: &str) -> Result<T, Error> {
    if x.into().is_finite() {
        Ok(x)
    } else {
        Err(Error::model(format!("corrupt: the {what} is not finite")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let size = 1 << MIN_BITS;
        let mut weights = vec![0.0; size];
        weights[3] = 0.5;
        Model {
            bits: MIN_BITS,
            online_rate: 0.4,
            l2: 1e-5,
            fitted: Fitted {
                bias: -2.0,
                weights,
                sq_grad: vec![1.0; size],
            },
            classifier_offset: 0.5,
            combination: vec![
                ("CLASSIFIER_TEXT".into(), 0.9),
                ("TEXT_ZERO_WIDTH".into(), -1.2),
            ],
            combination_bias: Some(-1.5),
        }
    }

    /// The payload of `model` as written, checked by the reader alone (a
    /// crafted file carries a checksum that matches).
    fn read(model: &Model) -> Result<Model, Error> {
        let bytes = model.to_bytes();
        parse_payload(&bytes[20..bytes.len() - 8])
    }

    #[test]
    fn weights_beyond_the_documented_range_are_refused_by_name() {
        assert_eq!(read(&model()).unwrap(), model());
        let at_bound = Model {
            combination: vec![("CLASSIFIER_TEXT".into(), -MAX_LOG_ODDS)],
            ..model()
        };
        assert!(read(&at_bound).is_ok());
        type Edit = dyn Fn(&mut Model);
        let cases: [(&str, &Edit); 6] = [
            ("combination weight of CLASSIFIER_TEXT", &|m| {
                m.combination[0].1 = 1e308
            }),
            ("combination weight of TEXT_ZERO_WIDTH", &|m| {
                m.combination[1].1 = -1e308
            }),
            ("combination bias", &|m| m.combination_bias = Some(1e308)),
            ("classifier weight 3", &|m| m.fitted.weights[3] = -1e30),
            ("classifier bias", &|m| m.fitted.bias = 65.0),
            ("classifier offset", &|m| m.classifier_offset = 1e20),
        ];
        for (field, edit) in cases {
            let mut m = model();
            edit(&mut m);
            let e = read(&m).unwrap_err().to_string();
            assert!(e.contains(field) && e.contains("outside"), "{field}: {e}");
        }
    }
}
