//! # dmguard
//!
//! Scores incoming direct messages for spam: for each DM, *allow*, *review*
//! or *block*, with a score in `[0, 1]` and the reasons behind it.
//!
//! ## Overview
//!
//! A DM travels through the pipeline in this order:
//!
//! 1. **canonicalise** the text (`normalize`): NFKC, case folding, invisible
//!    characters removed, so that disguises do not work;
//! 2. **extract features** (`features`): the policy's lists, text disguises
//!    and phrase rules, and links: found in the raw text however they are
//!    disguised ([`links`]) and judged without any network call (short
//!    links can be expanded by the caller, see [`LinkExpander`]);
//! 3. **combine** (`combine`): every hit's weight, summed as log-odds, gives
//!    the score; the policy's thresholds give the action.
//!
//! ## Example
//!
//! ```
//! use dmguard::{Action, Filter, Message, Policy};
//!
//! let policy = Policy::from_toml_str(r#"
//! [deny]
//! phrases = ["exclusive investment club"]
//! "#)?;
//! let filter = Filter::new(policy)?;
//!
//! let verdict = filter.check(&Message::new("Join our EXCLUSIVE investment club today"));
//! assert!(verdict.is_flagged());
//! assert_eq!(verdict.reasons[0].code, "POLICY_DENY_PHRASE");
//!
//! let verdict = filter.check(&Message::new("my order hasn't arrived yet"));
//! assert_eq!(verdict.action, Action::Allow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Performance
//!
//! Rules compile once when the filter is built; checking reuses per-thread
//! buffers. See `benches/` and `examples/throughput.rs`.
//!
//! ## Crate features
//!
//! None yet: everything is always on.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(missing_debug_implementations)]

mod combine;
mod error;
mod features;
mod filter;
mod message;
mod normalize;
mod policy;
mod verdict;

pub use error::Error;
pub use features::link::{Link, LinkExpander, LinkKind, LinkPolicy, links};
pub use features::{CodeInfo, all_codes as reason_codes};
pub use filter::{Filter, FilterBuilder};
pub use message::{Label, Message, SenderProfile};
pub use policy::{Limits, Lists, Policy};
pub use verdict::{Action, Reason, Verdict};
