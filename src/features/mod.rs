//! Feature extraction: each family of evidence looks at a message and
//! records what it found in an [`Evidence`] list.
//!
//! A hit has a code and a *strength* (1.0 for a plain rule; a graded value
//! such as a count or a classifier's log-odds otherwise). The weight that
//! turns strength into log-odds comes from the code's default, the trained
//! model or the policy, and is applied in [`crate::combine`].

pub(crate) mod fingerprint;
pub(crate) mod link;
pub(crate) mod lists;
pub(crate) mod rate;
pub(crate) mod sender;
pub(crate) mod stream;
pub(crate) mod text;

use std::borrow::Cow;

use crate::verdict::Family;

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

impl CodeInfo {
    /// The family of evidence the code belongs to: the family of the list
    /// that defines it (each module's codes look at one kind of thing),
    /// except `LINK_FIRST_CONTACT`, which the link scan finds but which
    /// says what the profile codes say, that the sender is unknown here
    /// (`combine` caps it together with them).
    ///
    /// ```
    /// let info = dmguard::reason_codes().find(|c| c.code == "LINK_FIRST_CONTACT").unwrap();
    /// assert_eq!(info.family(), dmguard::Family::Sender);
    /// ```
    pub fn family(&self) -> Family {
        if self.code == "LINK_FIRST_CONTACT" {
            return Family::Sender;
        }
        LISTS
            .iter()
            .find(|(list, _)| list.iter().any(|c| c.code == self.code))
            .map_or(Family::Text, |&(_, family)| family)
    }
}

/// Each module's codes with the family they belong to, in the order that
/// [`all_codes`] lists them (the combination fit's columns follow it).
const LISTS: [(&[CodeInfo], Family); 7] = [
    (text::CODES, Family::Text),
    (rate::CODES, Family::Stream),
    (sender::CODES, Family::Sender),
    (link::CODES, Family::Link),
    (crate::classifier::CODES, Family::Text),
    (crate::combine::PIPELINE_CODES, Family::Text),
    (crate::combine::CODES, Family::Policy),
];

/// Every reason code the filter can emit, across all families, with its
/// meaning.
///
/// ```
/// assert!(dmguard::reason_codes().any(|c| c.code == "TEXT_ZERO_WIDTH"));
/// ```
pub fn all_codes() -> impl Iterator<Item = &'static CodeInfo> {
    LISTS.iter().flat_map(|&(list, _)| list.iter())
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
