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
//!    characters removed, small capitals read as letters, and words that
//!    imitate Latin with Cyrillic, Greek, Armenian, Cherokee, Lisu or
//!    Coptic look-alikes read as what they imitate, so that disguises do
//!    not work;
//! 2. **extract features** (`features`): the policy's lists, text disguises
//!    and phrase rules, and links: found in the raw text however they are
//!    disguised ([`links`]) and judged without any network call (short
//!    links can be expanded by the caller, see [`LinkExpander`]); then the
//!    stream evidence (`features::stream`): the sender's rate and fan-out,
//!    near-duplicate campaigns, the sender's profile, weighed from what the
//!    stream state (`state`, in memory or shared through Redis) counted;
//! 3. **classify** (`classifier`): a trained linear model over hashed words,
//!    word pairs and character n-grams gives its log-odds of spam
//!    ([`Model`]; the built-in one was trained on the SMS Spam Collection
//!    and on messages of the kind customers send to companies, and
//!    [`Filter::learn`] / [`Filter::learn_scoped`] go on teaching it from
//!    feedback, shared or per brand);
//! 4. **combine** (`combine`): every hit's weight, summed as log-odds, gives
//!    the score; the policy's thresholds give the action. A model carries
//!    the combination weights fitted on its training data, so the score is
//!    a calibrated probability. A block needs two families of evidence
//!    ([`Family`]) that agree, or a deny list: one family alone sends a DM
//!    to review at most.
//!
//! Every setting comes from one [`Policy`] (`policy`, with a table per part
//! of the pipeline), checked once when the filter is built.
//!
//! [`Evaluation`] computes the quality figures (MCC, ROC AUC, spam caught at
//! a ceiling of ham flagged, …) that `examples/evaluate.rs` prints.
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
//! buffers. The stream state is split into mutex-protected shards, bounded
//! by [`StorePolicy::max_senders`], [`StorePolicy::max_fingerprints`] and
//! [`StorePolicy::max_conversations`] (64 bytes per sender, 120 per
//! fingerprint band, 12 per conversation), and can be saved and
//! restored with [`Filter::snapshot_state`] / [`Filter::restore_state`].
//!
//! Measure a `check` on your own machine with
//! `cargo run --profile perf --example throughput -- FILE` (messages per
//! second and latency percentiles over a stream) and
//! `cargo bench --features bench` (each stage); `docs/PERFORMANCE.md` has
//! the figures, the commands that produced them, the CPU, and a peer
//! (bogofilter) measured in the same run to compare against.
//!
//! ## Crate features
//!
//! Everything the library does in one process is always on. Three
//! features, all off by default:
//!
//! - `redis`: the Redis store, which lets many filter processes share one
//!   view of the stream and one another's feedback
//!   (`FilterBuilder::redis`); it adds the `redis` client crate.
//! - `service`: builds the HTTP service example with its review page
//!   (`cargo run --release --features service --example service`) and
//!   changes nothing in the library.
//! - `bench`: builds the criterion benches in `benches/` (`cargo bench
//!   --features bench`) and changes nothing in the library.

// One measured exception, allowed where it stands: the cache hint in
// `state::prefetch`.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(missing_debug_implementations)]

#[macro_use]
mod byte_table;
mod classifier;
mod codes;
mod combine;
mod error;
mod eval;
mod features;
mod filter;
mod hash;
mod journal;
mod limits;
mod message;
mod normalize;
mod persist;
mod policy;
mod state;
mod verdict;
pub mod wire;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use classifier::{Learner, Model, OverlayStats, TrainOptions};
pub use codes::{CodeInfo, all_codes as reason_codes};
pub use error::Error;
pub use eval::{CaughtAt, Confusion, Evaluation, HAM_FLAGGED_CEILINGS, ReasonRate, Report};
pub use features::link::{Link, LinkExpander, LinkKind, links};
#[doc(hidden)]
pub use features::text::TextBench;
pub use filter::{Filter, FilterBuilder, LearnScope};
pub use message::{Label, Message, SenderProfile};
pub use policy::{Limits, LinkPolicy, Lists, Policy, StorePolicy, StreamPolicy};
pub use state::{StateSnapshot, Stats};
pub use verdict::{Action, Family, Reason, Verdict};
