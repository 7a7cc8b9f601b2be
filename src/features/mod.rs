//! Feature extraction: each family of evidence looks at a message and
//! records what it found in an [`Evidence`] list.
//!
//! A hit has a code and a *strength* (1.0 for a plain rule; a graded value
//! such as a count or a classifier's log-odds otherwise). The weight that
//! turns strength into log-odds comes from the code's default, the trained
//! model or the policy, and is applied in [`crate::combine`].

pub(crate) mod link;
pub(crate) mod lists;
pub(crate) mod rate;
pub(crate) mod sender;
pub(crate) mod text;

use std::borrow::Cow;

/// A reason code with its default weight and a one-line meaning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeInfo {
    /// The stable code, as in [`Reason::code`](crate::Reason::code).
    pub code: &'static str,
    /// Log-odds added per unit of strength when no model or policy says
    /// otherwise.
    pub default_weight: f64,
    /// What the code means, in one line.
    pub summary: &'static str,
}

/// Every reason code the filter can emit, across all families, with its
/// meaning.
///
/// ```
/// assert!(dmguard::reason_codes().any(|c| c.code == "TEXT_ZERO_WIDTH"));
/// ```
pub fn all_codes() -> impl Iterator<Item = &'static CodeInfo> {
    text::CODES
        .iter()
        .chain(rate::CODES)
        .chain(sender::CODES)
        .chain(link::CODES.iter())
        .chain(crate::classifier::CODES.iter())
        .chain(crate::combine::CODES.iter())
}

/// One piece of evidence before weighting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub code: &'static str,
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
    pub fn push(
        &mut self,
        code: &'static str,
        strength: f64,
        detail: impl Into<Cow<'static, str>>,
    ) {
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
