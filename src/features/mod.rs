//! Feature extraction: each family of evidence looks at a message and
//! records what it found in an [`Evidence`] list.
//!
//! A hit has a code (a [`Code`] of the one table in `crate::codes`) and a
//! *strength* (1.0 for a plain rule; a graded value such as a count or a
//! classifier's log-odds otherwise). The weight that turns strength into
//! log-odds comes from the code's default, the trained model or the policy,
//! and is applied in [`crate::combine`].

pub(crate) mod fingerprint;
pub(crate) mod link;
pub(crate) mod lists;
pub(crate) mod rate;
pub(crate) mod sender;
pub(crate) mod stream;
pub(crate) mod text;

use std::borrow::Cow;

use crate::codes::Code;

/// One piece of evidence before weighting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub code: Code,
    pub strength: f64,
    pub detail: Cow<'static, str>,
}

/// The evidence gathered for one message; reused between messages.
#[derive(Debug, Default)]
pub(crate) struct Evidence {
    pub hits: Vec<Hit>,
}

impl Evidence {
    pub fn clear(&mut self) {
        self.hits.clear();
    }

    /// Records a hit. A code that fires twice in one message keeps one entry
    /// with the larger strength, so one cause never adds up twice. A fixed
    /// wording is passed as `&'static str` and is not copied.
    pub fn push(&mut self, code: Code, strength: f64, detail: impl Into<Cow<'static, str>>) {
        if !strength.is_finite() {
            return;
        }
        if let Some(hit) = self.hits.iter_mut().find(|h| h.code == code) {
            if strength > hit.strength {
                hit.strength = strength;
                hit.detail = detail.into();
            }
            return;
        }
        self.hits.push(Hit {
            code,
            strength,
            detail: detail.into(),
        });
    }
}
