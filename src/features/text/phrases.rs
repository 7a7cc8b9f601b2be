//! Phrase rules: the built-in list (`phrases.txt`) and the policy's
//! `extra_phrases`, compiled into one Aho-Corasick automaton over the
//! canonical phrase form.
//!
//! Each family is one reason. Its strength is the sum of the strengths of
//! the distinct phrases found (strong 1.0, medium 0.6, weak 0.3), capped at
//! 1.5: two clear phrases of one family count more than one, but a message
//! cannot pile up a family's weight by repeating itself.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};

use crate::Error;
use crate::codes::Code;
use crate::normalize::Canonical;

/// The built-in phrase list.
const BUILT_IN: &str = include_str!("phrases.txt");

/// A family's strength never exceeds this, however many phrases it has.
pub(crate) const MAX_STRENGTH: f64 = 1.5;

/// The phrase families in `phrases.txt` order, and last the policy's own
/// list: (name in the file, reason code, what a hit is, for details).
pub(crate) const FAMILIES: &[(&str, Code, &str)] = &[
    (
        "crypto",
        Code::TEXT_PHRASE_CRYPTO,
        "crypto or investment scheme",
    ),
    (
        "giveaway",
        Code::TEXT_PHRASE_GIVEAWAY,
        "giveaway or prize bait",
    ),
    ("phishing", Code::TEXT_PHRASE_PHISHING, "account phishing"),
    (
        "followers",
        Code::TEXT_PHRASE_FOLLOWERS,
        "follower or like selling",
    ),
    ("adult", Code::TEXT_PHRASE_ADULT, "adult bait"),
    ("selfpromo", Code::TEXT_PHRASE_SELFPROMO, "self-promotion"),
    ("loan", Code::TEXT_PHRASE_LOAN, "loan or debt offer"),
    ("job", Code::TEXT_PHRASE_JOB, "job or money-mule offer"),
    ("romance", Code::TEXT_PHRASE_ROMANCE, "romance scam"),
    (
        "collab",
        Code::TEXT_PHRASE_COLLAB,
        "fake brand deal or ambassador offer",
    ),
    ("urgency", Code::TEXT_PHRASE_URGENCY, "pressure to act fast"),
    (
        "offplatform",
        Code::TEXT_OFF_PLATFORM,
        "move to another channel",
    ),
    ("extra", Code::TEXT_SPAM_PHRASE, "policy spam phrase"),
];

const EXTRA: usize = FAMILIES.len() - 1;

/// The index of a family in [`FAMILIES`].
pub(crate) fn family(name: &str) -> usize {
    FAMILIES
        .iter()
        .position(|&(n, _, _)| n == name)
        .unwrap_or(EXTRA)
}

#[derive(Debug, Clone)]
struct Phrase {
    /// As written in the list, for the reason's detail.
    text: String,
    family: u8,
    strength: f64,
}

/// Per family: summed strength, distinct phrases found, the first one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub strength: [f64; FAMILIES.len()],
    pub count: [u8; FAMILIES.len()],
    pub first: [u32; FAMILIES.len()],
}

/// Distinct phrases remembered per message: enough for any real DM.
const MAX_DISTINCT: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct PhraseRules {
    automaton: DFA,
    /// The longest key, in bytes: how far back a second lane of the walk
    /// starts (see [`for_each_match`]).
    longest_key: usize,
    phrases: Vec<Phrase>,
}

impl PhraseRules {
    /// Compiles the built-in list and `extra` (the policy's phrases).
    pub fn build(extra: &[String]) -> Result<PhraseRules, Error> {
        let mut keys = Vec::new();
        let mut phrases = Vec::new();
        let mut add = |text: &str, family: usize, strength: f64| {
            let key = phrase_key(text);
            if key.trim().is_empty() {
                return;
            }
            for variant in text_speak_variants(&key) {
                keys.push(variant);
                phrases.push(Phrase {
                    text: text.trim().to_string(),
                    family: family as u8,
                    strength,
                });
            }
        };
        let mut current = None;
        for (n, line) in BUILT_IN.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = Some(family(name)).filter(|&f| f != EXTRA);
                if current.is_none() {
                    return Err(built_in_error(n, format!("unknown family [{name}]")));
                }
                continue;
            }
            let (strength, text) = match line.split_once(' ') {
                Some(("S", t)) => (1.0, t),
                Some(("M", t)) => (0.6, t),
                Some(("W", t)) => (0.3, t),
                _ => return Err(built_in_error(n, format!("expected S, M or W: {line:?}"))),
            };
            let Some(f) = current else {
                return Err(built_in_error(n, "phrase before any [family]".into()));
            };
            add(text, f, strength);
        }
        for text in extra {
            add(text, EXTRA, 1.0);
        }
        // A DFA: one table lookup per byte, where a contiguous NFA walks
        // sparse transitions (measured: a sixth of the instructions of a
        // whole check went there). Every key starts with a space, so a
        // start-byte prefilter would stop at every word: none. About 1.3 MB
        // for the built-in list, of which a scan touches a few states.
        let automaton = DFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&keys)
            .map_err(|e| Error::policy(Some("extra_phrases".into()), e.to_string()))?;
        Ok(PhraseRules {
            longest_key: keys.iter().map(String::len).max().unwrap_or(0),
            automaton,
            phrases,
        })
    }

    /// Finds every phrase in `canon.phrase` and sums them per family.
    pub fn scan(&self, canon: &Canonical) -> Tally {
        let mut tally = Tally::default();
        let mut seen = [u32::MAX; MAX_DISTINCT];
        let mut n_seen = 0;
        for_each_match(&self.automaton, self.longest_key, &canon.phrase, |id| {
            // Variants of one phrase ("your" / "ur") and repeats count once.
            let phrase = &self.phrases[id as usize];
            if seen[..n_seen]
                .iter()
                .any(|&s| self.phrases[s as usize].text == phrase.text)
            {
                return true;
            }
            if n_seen == MAX_DISTINCT {
                return false;
            }
            seen[n_seen] = id;
            n_seen += 1;
            let f = phrase.family as usize;
            if tally.count[f] == 0
                || phrase.strength > self.phrases[tally.first[f] as usize].strength
            {
                tally.first[f] = id;
            }
            tally.count[f] = tally.count[f].saturating_add(1);
            tally.strength[f] = (tally.strength[f] + phrase.strength).min(MAX_STRENGTH);
            true
        });
        tally
    }

    /// The phrase with this id, as written in its list.
    pub fn text(&self, id: u32) -> &str {
        self.phrases
            .get(id as usize)
            .map_or("", |p| p.text.as_str())
    }
}

/// Calls `f` with the id of every key found in `text`, overlapping,
/// in the order an overlapping search reports them (by end, then in the
/// DFA's match order), until `f` returns `false`. The DFA is walked here
/// rather than through the generic overlapping iterator, whose per-byte
/// bookkeeping cost more than the transitions.
///
/// Each transition waits for the one before it, so a long text is walked
/// in two lanes side by side, the second from the middle: the processor
/// overlaps the two chains of loads. The second lane starts `longest_key`
/// bytes early, and from there on its state is the one a single walk would
/// be in (an Aho-Corasick state is the longest suffix of the text read that
/// begins a key, never longer than a key), so it reports exactly the
/// matches that end in the second half, held back until the first half's
/// are reported.
fn for_each_match(dfa: &DFA, longest_key: usize, text: &str, mut f: impl FnMut(u32) -> bool) {
    let Ok(start) = dfa.start_state(Anchored::No) else {
        return;
    };
    let bytes = text.as_bytes();
    let overlap = longest_key.saturating_sub(1);
    // Below this, the second lane's lead-in costs more than it saves.
    if bytes.len() < 2 * overlap + LANE_MIN_BYTES {
        walk(dfa, start, bytes, 0, &mut f);
        return;
    }
    let mid = (bytes.len() + overlap) / 2;
    let (first, second) = (&bytes[..mid], &bytes[mid - overlap..]);
    let mut held = [0u32; HELD_MATCHES];
    let mut n_held = 0;
    let mut second_done = true;
    let (mut a, mut b) = (start, start);
    let steps = first.len().min(second.len());
    for i in 0..steps {
        a = dfa.next_state(Anchored::No, a, first[i]);
        b = dfa.next_state(Anchored::No, b, second[i]);
        if dfa.is_special(a) && (dfa.is_dead(a) || !report(dfa, a, &mut f)) {
            return;
        }
        if dfa.is_special(b) && i >= overlap && second_done {
            second_done = !dfa.is_dead(b)
                && (0..dfa.match_len(b)).all(|k| {
                    let Some(slot) = held.get_mut(n_held) else {
                        return false;
                    };
                    *slot = dfa.match_pattern(b, k).as_u32();
                    n_held += 1;
                    true
                });
        }
    }
    if !walk(dfa, a, &first[steps..], 0, &mut f) {
        return;
    }
    if !second_done {
        // Too many matches to hold (or a dead end): the second half again,
        // one lane, from where the second lane started.
        walk(dfa, start, second, overlap, &mut f);
        return;
    }
    for &id in &held[..n_held] {
        if !f(id) {
            return;
        }
    }
    walk(dfa, b, &second[steps..], 0, &mut f);
}

/// Texts this much longer than two lead-ins are walked in two lanes.
const LANE_MIN_BYTES: usize = 32;
/// Matches of the second lane held back; a text with more is walked again.
const HELD_MATCHES: usize = 32;

/// Walks `bytes` from state `sid`, calling `f` for the matches that end at
/// or after byte `from`; false when `f` asked to stop or the walk died.
fn walk(
    dfa: &DFA,
    mut sid: StateID,
    bytes: &[u8],
    from: usize,
    f: &mut impl FnMut(u32) -> bool,
) -> bool {
    for (i, &byte) in bytes.iter().enumerate() {
        sid = dfa.next_state(Anchored::No, sid, byte);
        if dfa.is_special(sid) {
            if dfa.is_dead(sid) {
                return false;
            }
            if i >= from && !report(dfa, sid, f) {
                return false;
            }
        }
    }
    true
}

/// Calls `f` with each match of state `sid`; false when `f` asked to stop.
#[inline]
fn report(dfa: &DFA, sid: StateID, f: &mut impl FnMut(u32) -> bool) -> bool {
    (0..dfa.match_len(sid)).all(|i| f(dfa.match_pattern(sid, i).as_u32()))
}

fn built_in_error(line: usize, message: String) -> Error {
    Error::policy(
        Some(format!("built-in phrases.txt line {}", line + 1)),
        message,
    )
}

/// The canonical phrase form of a list entry, padded so it matches whole
/// words only.
pub(crate) fn phrase_key(phrase: &str) -> String {
    let mut canon = Canonical::default();
    canon.canonicalize(phrase);
    canon.phrase
}

/// The key, and the same with "your" written "ur" and "you" written "u",
/// as DMs often do.
fn text_speak_variants(key: &str) -> Vec<String> {
    let mut out = vec![key.to_string()];
    if key.contains(" your ") || key.contains(" you ") {
        out.push(key.replace(" your ", " ur ").replace(" you ", " u "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dfa_walk_reports_what_the_overlapping_search_reports() {
        let keys = [
            " free ",
            " free gift ",
            " gift ",
            " ree g",
            " gift card ",
            " card ",
            " e",
            " your ",
            " ur ",
        ];
        let dfa = DFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(keys)
            .unwrap();
        let reference = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(keys)
            .unwrap();
        for text in [
            "",
            " ",
            " free gift card for your free gift ",
            " ur gift card ",
            " nothing here ",
            " e e e ",
        ] {
            let want: Vec<u32> = reference
                .find_overlapping_iter(text)
                .map(|m| m.pattern().as_u32())
                .collect();
            let longest = keys.iter().map(|k| k.len()).max().unwrap();
            let mut got = Vec::new();
            for_each_match(&dfa, longest, text, |id| {
                got.push(id);
                true
            });
            assert_eq!(got, want, "{text:?}");
            let mut first = Vec::new();
            for_each_match(&dfa, longest, text, |id| {
                first.push(id);
                false
            });
            assert_eq!(first, want.iter().copied().take(1).collect::<Vec<_>>());
        }
    }

    proptest::proptest! {
        /// Two lanes find what one walk finds, in the same order, and stop
        /// where it stops: texts of built-in phrases (the longest ones
        /// too, across the middle) between filler words.
        #[test]
        fn two_lanes_find_what_one_walk_finds(
            parts in proptest::collection::vec((0usize..1000, "[a-z]{0,7}"), 0..24),
            stop_after in 0usize..40,
        ) {
            let rules = PhraseRules::build(&[]).unwrap();
            let mut text = String::from(" ");
            for (pick, filler) in &parts {
                let phrase = &rules.phrases[pick % rules.phrases.len()];
                text.push_str(phrase_key(&phrase.text).trim_start());
                text.push_str(filler);
                text.push(' ');
            }
            let run = |longest: usize, limit: usize| {
                let mut got = Vec::new();
                for_each_match(&rules.automaton, longest, &text, |id| {
                    got.push(id);
                    got.len() < limit
                });
                got
            };
            // A longest key as long as the text forces a single lane.
            let one_lane = run(text.len(), usize::MAX);
            proptest::prop_assert_eq!(run(rules.longest_key, usize::MAX), one_lane.clone());
            proptest::prop_assert_eq!(
                run(rules.longest_key, stop_after),
                one_lane.iter().copied().take(stop_after.max(1)).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_text_with_more_matches_than_are_held_is_walked_again() {
        let rules = PhraseRules::build(&[]).unwrap();
        let text = format!(" {} ", ["free gift"; 100].join(" "));
        let mut two = Vec::new();
        for_each_match(&rules.automaton, rules.longest_key, &text, |id| {
            two.push(id);
            true
        });
        let mut one = Vec::new();
        for_each_match(&rules.automaton, text.len(), &text, |id| {
            one.push(id);
            true
        });
        assert!(one.len() > 2 * HELD_MATCHES, "{}", one.len());
        assert_eq!(two, one);
    }

    fn found(rules: &PhraseRules, raw: &str) -> Vec<(&'static str, String)> {
        let mut canon = Canonical::default();
        canon.canonicalize(raw);
        let tally = rules.scan(&canon);
        (0..FAMILIES.len())
            .filter(|&f| tally.count[f] > 0)
            .map(|f| (FAMILIES[f].0, rules.text(tally.first[f]).to_string()))
            .collect()
    }

    #[test]
    fn built_in_list_parses_and_every_phrase_has_a_key() {
        let rules = PhraseRules::build(&[]).unwrap();
        assert!(rules.phrases.len() > 300, "{}", rules.phrases.len());
        for p in &rules.phrases {
            assert!(!phrase_key(&p.text).trim().is_empty(), "{:?}", p.text);
        }
    }

    #[test]
    fn disguised_phrases_are_found() {
        let rules = PhraseRules::build(&["exclusive club".to_string()]).unwrap();
        let cases: &[(&str, &str, &str, &str)] = &[
            ("leet", "fr33 g1ft inside", "giveaway", "free gift"),
            (
                "spaced",
                "f r e e  c r y p t o for all",
                "crypto",
                "free crypto",
            ),
            (
                "dotted",
                "s.u.b.s.c.r.i.b.e to my channel",
                "selfpromo",
                "subscribe to my",
            ),
            ("cyrillic", "hеllо dеаr", "romance", "hello dear"),
            (
                "text_speak",
                "verify ur age here",
                "adult",
                "verify your age",
            ),
            (
                "fullwidth",
                "ｃｌａｉｍ ｙｏｕｒ ｐｒｉｚｅ",
                "giveaway",
                "claim your prize",
            ),
            (
                "policy_extra",
                "join our EXCLUSIVE club",
                "extra",
                "exclusive club",
            ),
        ];
        for &(name, raw, family, phrase) in cases {
            let hits = found(&rules, raw);
            assert!(
                hits.contains(&(family, phrase.to_string())),
                "{name}: {hits:?}"
            );
        }
    }

    #[test]
    fn ordinary_customer_text_finds_nothing_strong() {
        let rules = PhraseRules::build(&[]).unwrap();
        let cases: &[(&str, &str)] = &[
            (
                "order",
                "hi my order 482913 has not arrived, can you check?",
            ),
            (
                "refund",
                "you advertise a 30 day money back guarantee, where is my money back",
            ),
            ("verify_mine", "I never got the email to verify my account"),
            (
                "won_giveaway",
                "someone said I won your giveaway, how do I claim the prize?",
            ),
            (
                "locked",
                "my account got locked after too many login attempts",
            ),
        ];
        for &(name, raw) in cases {
            assert!(
                found(&rules, raw).is_empty(),
                "{name}: {:?}",
                found(&rules, raw)
            );
        }
    }

    /// The DM genres brands get that SMS spam has few of: each message
    /// reaches review on phrases alone (one strong phrase or two medium).
    #[test]
    fn dm_spam_genres_are_found() {
        let rules = PhraseRules::build(&[]).unwrap();
        let cases: &[(&str, &str, &str)] = &[
            (
                "widow",
                "Good day, I am Grace, a lonely widow looking for a true friend to talk to",
                "romance",
            ),
            (
                "sugar",
                "hi i am a sugar daddy, $900 weekly allowance for my sugar baby",
                "romance",
            ),
            (
                "ambassador",
                "We'd love you as our ambassador! We'll send you free hoodies, just pay shipping",
                "collab",
            ),
            (
                "side_hustle",
                "simple side hustle, earn from your phone without leaving home",
                "job",
            ),
            (
                "promote_page",
                "we can promote your page to 1M real and active users",
                "followers",
            ),
            (
                "nft",
                "FREE MINT is live, claim your NFT before the drop closes",
                "crypto",
            ),
            (
                "page_phishing",
                "Your page has been reported, verify your page or it will be disabled",
                "phishing",
            ),
        ];
        for &(name, raw, family_name) in cases {
            let mut canon = Canonical::default();
            canon.canonicalize(raw);
            let t = rules.scan(&canon);
            let f = family(family_name);
            assert!(t.strength[f] >= 1.0, "{name}: {:?}", found(&rules, raw));
        }
    }

    /// Customers write about the same topics: one medium or weak phrase at
    /// most, never enough for review on its own.
    #[test]
    fn customers_on_the_same_topics_stay_below_one_strong_phrase() {
        let rules = PhraseRules::build(&[]).unwrap();
        let cases: &[(&str, &str)] = &[
            (
                "ambassador_question",
                "do you have a brand ambassador program? I run a running blog",
            ),
            (
                "widowed_customer",
                "I am a widow and the account was in my late husband's name, how do I close it",
            ),
            (
                "quoting_a_notice",
                "your email says my service will be suspended within 5 days but I already paid",
            ),
            (
                "card_flagged",
                "my card was flagged for unusual activity again, please fix this",
            ),
            (
                "influencer",
                "I have 10k followers and would love to collaborate on your spring line",
            ),
            (
                "appeal",
                "I filled in the appeal form twice, final warning before I go to the ombudsman",
            ),
        ];
        for &(name, raw) in cases {
            let mut canon = Canonical::default();
            canon.canonicalize(raw);
            let t = rules.scan(&canon);
            assert!(
                t.strength.iter().all(|&s| s < 1.0),
                "{name}: {:?}",
                found(&rules, raw)
            );
        }
    }

    #[test]
    fn strength_sums_distinct_phrases_and_caps() {
        let rules = PhraseRules::build(&[]).unwrap();
        let mut canon = Canonical::default();
        canon.canonicalize("oil rig, oil rig, oil rig");
        let t = rules.scan(&canon);
        let romance = family("romance");
        assert_eq!((t.count[romance], t.strength[romance]), (1, 1.0));
        canon.canonicalize("hello dear, saw your profile, you are beautiful, oil rig");
        let t = rules.scan(&canon);
        assert_eq!(t.strength[romance], MAX_STRENGTH);
    }
}
