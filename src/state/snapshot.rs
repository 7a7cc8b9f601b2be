//! A serialisable copy of the stream state, so that a restart does not
//! forget a running campaign.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::hash::HashKey;
use super::{CampaignCell, Conversation, MAX_EVENT_MS, SenderRecord};
use crate::Error;

/// Spam and ham counts of one learned domain, and when it was last taught
/// (a counter of teaching events, not a clock): stored here, weighed by
/// the link evidence (`features::link::reputation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DomainCounts {
    pub spam: u32,
    pub ham: u32,
    pub seen: u64,
}

/// The format written by this version; a snapshot of another version is
/// refused rather than misread. It goes up whenever a saved value would
/// mean something else to the new code, and that includes any change to
/// how fingerprint bands are hashed from a text's words: an older
/// snapshot's band keys would match no text. Version 4 adds the
/// conversations; a version 3 snapshot reads as one without any. Version 5
/// holds the same data and is always written with its checksum line (see
/// [`StateSnapshot::to_writer`]); versions 3 and 4, written before there
/// was one, are read without it. Version 6 adds the secret the table keys
/// were hashed with; an older snapshot reads as keyed with the public
/// seeds that every filter used then.
const VERSION: u32 = 6;

/// The first version whose file carries a checksum line.
const CHECKSUMMED: u32 = 5;

/// What starts the checksum line that follows the JSON.
const CHECKSUM_TAG: &[u8] = b"fnv1a64:";

/// The oldest version this build reads.
const OLDEST_READABLE: u32 = 3;

/// The filter's learned and stream state at one moment: senders,
/// fingerprint bands, conversations, the latest event time, and the learned domain
/// reputation (`LINK_DOMAIN_REPUTATION`). Take one with [`Filter::snapshot_state`], give it
/// back with [`Filter::restore_state`]; it is plain serde data, so any
/// serde format works, and [`StateSnapshot::to_writer`] /
/// [`StateSnapshot::from_reader`] use JSON.
///
/// [`Filter::snapshot_state`]: crate::Filter::snapshot_state
/// [`Filter::restore_state`]: crate::Filter::restore_state
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSnapshot {
    version: u32,
    latest_ms: Option<i64>,
    senders: Vec<(u64, SenderRecord)>,
    campaigns: Vec<(u64, CampaignCell)>,
    /// Learned link reputation per registrable domain; absent in snapshots
    /// taken before it was saved, which restore as "nothing learned".
    #[serde(default)]
    domains: Vec<(String, DomainCounts)>,
    /// (brand, person) conversations; absent before version 4.
    #[serde(default)]
    conversations: Vec<(u64, Conversation)>,
    /// The secret the table keys were hashed with, as 16 hex digits;
    /// absent before version 6, whose keys used the public seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hash_key: Option<String>,
}

impl StateSnapshot {
    pub(crate) fn new(
        latest_ms: Option<i64>,
        senders: Vec<(u64, SenderRecord)>,
        campaigns: Vec<(u64, CampaignCell)>,
    ) -> StateSnapshot {
        StateSnapshot {
            version: VERSION,
            latest_ms,
            senders,
            campaigns,
            domains: Vec::new(),
            conversations: Vec::new(),
            hash_key: None,
        }
    }

    /// The same snapshot carrying the conversations too.
    pub(crate) fn with_conversations(
        mut self,
        conversations: Vec<(u64, Conversation)>,
    ) -> StateSnapshot {
        self.conversations = conversations;
        self
    }

    /// The same snapshot, saying which key its tables were hashed with.
    pub(crate) fn with_hash_key(mut self, key: HashKey) -> StateSnapshot {
        self.hash_key = Some(key.to_hex());
        self
    }

    /// The key the tables were hashed with; 0 (the public seeds) for a
    /// snapshot written before keys.
    pub(crate) fn hash_key(&self) -> HashKey {
        self.hash_key
            .as_deref()
            .and_then(HashKey::from_hex)
            .unwrap_or_default()
    }

    pub(crate) fn conversations(&self) -> &[(u64, Conversation)] {
        &self.conversations
    }

    /// The same snapshot carrying the learned domain reputation too.
    pub(crate) fn with_domains(mut self, domains: Vec<(String, DomainCounts)>) -> StateSnapshot {
        self.domains = domains;
        self
    }

    pub(crate) fn domains(&self) -> &[(String, DomainCounts)] {
        &self.domains
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if !(OLDEST_READABLE..=VERSION).contains(&self.version) {
            return Err(Error::invalid_input(format!(
                "state snapshot version {} is not a supported version \
                 ({OLDEST_READABLE} to {VERSION})",
                self.version
            )));
        }
        if self.senders.iter().any(|e| e.0 == 0)
            || self.campaigns.iter().any(|e| e.0 == 0)
            || self.conversations.iter().any(|e| e.0 == 0)
        {
            return Err(Error::invalid_input("state snapshot holds a zero key"));
        }
        if let Some(hex) = self
            .hash_key
            .as_ref()
            .filter(|hex| HashKey::from_hex(hex).is_none())
        {
            return Err(Error::invalid_input(format!(
                "state snapshot field hash_key = {hex:?} is not 16 hexadecimal digits"
            )));
        }
        // A restored clock is taken as it is (no step bound applies to it),
        // so one beyond what the tables can hold would make every later
        // message late.
        if let Some(latest) = self.latest_ms.filter(|t| !(0..=MAX_EVENT_MS).contains(t)) {
            return Err(Error::invalid_input(format!(
                "state snapshot field latest_ms = {latest} is outside 0 to {MAX_EVENT_MS} \
                 (1970 to 2106 in ms)"
            )));
        }
        Ok(())
    }

    pub(crate) fn latest_ms(&self) -> Option<i64> {
        self.latest_ms
    }

    pub(crate) fn senders(&self) -> &[(u64, SenderRecord)] {
        &self.senders
    }

    pub(crate) fn campaigns(&self) -> &[(u64, CampaignCell)] {
        &self.campaigns
    }

    /// Senders held in the snapshot.
    pub fn sender_count(&self) -> usize {
        self.senders.len()
    }

    /// Conversations held in the snapshot.
    pub fn conversation_count(&self) -> usize {
        self.conversations.len()
    }

    /// Fingerprint bands held in the snapshot.
    pub fn fingerprint_count(&self) -> usize {
        self.campaigns.len()
    }

    /// Writes the snapshot as one line of JSON followed by a checksum line
    /// (`fnv1a64:` and 16 lower-case hex digits of the FNV-1a hash of the
    /// JSON line), so that [`StateSnapshot::from_reader`] refuses a damaged
    /// or edited file instead of restoring wrong counts.
    pub fn to_writer(&self, mut writer: impl Write) -> Result<(), Error> {
        let body = serde_json::to_vec(self)
            .map_err(|e| Error::invalid_input(format!("writing the state snapshot: {e}")))?;
        let sum = format!("{:016x}\n", crate::hash::fnv(&body));
        [&body[..], b"\n", CHECKSUM_TAG, sum.as_bytes()]
            .iter()
            .try_for_each(|part| writer.write_all(part))
            .map_err(|e| Error::invalid_input(format!("writing the state snapshot: {e}")))
    }

    /// Reads a snapshot written by [`StateSnapshot::to_writer`]: its
    /// checksum must match (a snapshot of version 3 or 4, written before
    /// there was one, has none), and its values must be ones the filter
    /// could have written. A reader that goes on past 1 GiB is refused
    /// there.
    ///
    /// ```
    /// let filter = dmguard::Filter::default();
    /// let mut bytes = Vec::new();
    /// filter.snapshot_state().to_writer(&mut bytes)?;
    /// assert!(dmguard::StateSnapshot::from_reader(&bytes[..]).is_ok());
    /// bytes[3] ^= 0x08;
    /// let e = dmguard::StateSnapshot::from_reader(&bytes[..]).unwrap_err();
    /// assert!(e.to_string().contains("checksum"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_reader(reader: impl Read) -> Result<StateSnapshot, Error> {
        let bad = |e: String| Error::invalid_input(format!("reading the state snapshot: {e}"));
        // The same cap as a saved state file's: a stream that goes on
        // past it is not a snapshot this crate wrote.
        let cap = crate::persist::MAX_STATE_FILE_BYTES;
        let mut bytes = Vec::new();
        reader
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        if bytes.len() as u64 > cap {
            return Err(bad(format!("it is larger than {cap} bytes")));
        }
        let (body, checked) = match split_checksum(&bytes) {
            Some((body, sum)) => {
                if crate::hash::fnv(body) != sum {
                    return Err(bad("the checksum does not match: the file is damaged \
                                    or was edited"
                        .into()));
                }
                (body, true)
            }
            // Compact JSON holds no line break: a second line that is not
            // a well-formed checksum line is a damaged one.
            None if bytes.trim_ascii_end().contains(&b'\n') => {
                return Err(bad("the checksum line is damaged".into()));
            }
            None => (&bytes[..], false),
        };
        let snapshot: StateSnapshot =
            serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
        if !checked && snapshot.version >= CHECKSUMMED {
            return Err(bad(format!(
                "the checksum line is missing or damaged (version {} snapshots \
                 end with one)",
                snapshot.version
            )));
        }
        snapshot.check()?;
        Ok(snapshot)
    }
}

/// The JSON and the checksum of a file that ends with a well-formed
/// checksum line (exactly as [`StateSnapshot::to_writer`] writes it: a
/// different case or spacing is damage, not another way to say the same).
fn split_checksum(bytes: &[u8]) -> Option<(&[u8], u64)> {
    const HEX: usize = 16;
    let line_len = 1 + CHECKSUM_TAG.len() + HEX + 1;
    let split = bytes.len().checked_sub(line_len)?;
    let (body, line) = bytes.split_at(split);
    let digits = line
        .strip_prefix(b"\n")?
        .strip_prefix(CHECKSUM_TAG)?
        .strip_suffix(b"\n")?;
    if !digits
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let sum = u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
    Some((body, sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_it_cannot_read() {
        let snap = StateSnapshot::new(
            Some(1_750_000_000_000),
            vec![(7, SenderRecord::default())],
            vec![(9, CampaignCell::default())],
        );
        let mut bytes = Vec::new();
        snap.to_writer(&mut bytes).unwrap();
        assert_eq!(StateSnapshot::from_reader(&bytes[..]).unwrap(), snap);

        let zero = StateSnapshot::new(None, vec![(0, SenderRecord::default())], vec![]);
        assert!(zero.check().unwrap_err().to_string().contains("zero key"));
        let text = String::from_utf8(bytes).unwrap();
        // Versions before 5 had no checksum line: the JSON alone.
        let text = text.lines().next().unwrap().to_string();
        let old = text.replace(&format!("\"version\":{VERSION}"), "\"version\":2");
        let e = StateSnapshot::from_reader(old.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
        // Version 3 had no conversations: it reads as a snapshot without any.
        let v3 = text
            .replace(&format!("\"version\":{VERSION}"), "\"version\":3")
            .replace(",\"conversations\":[]", "");
        assert!(!v3.contains("conversations"));
        let read = StateSnapshot::from_reader(v3.as_bytes()).unwrap();
        assert_eq!(read.conversation_count(), 0);
        assert_eq!(read.sender_count(), 1);
        assert!(StateSnapshot::from_reader(&b"not json"[..]).is_err());
        // A current snapshot without its checksum line is damaged.
        let e = StateSnapshot::from_reader(text.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("checksum line is missing"), "{e}");
    }

    #[test]
    fn the_checksum_line_is_checked_exactly() {
        let snap = StateSnapshot::new(
            Some(1_750_000_000_000),
            vec![(7, SenderRecord::default())],
            vec![],
        );
        let mut bytes = Vec::new();
        snap.to_writer(&mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with('\n') && text.lines().count() == 2, "{text}");
        assert_eq!(StateSnapshot::from_reader(text.as_bytes()).unwrap(), snap);
        let (body, line) = text.split_once('\n').unwrap();
        let upper = format!("{body}\n{}", line.to_uppercase());
        let spaced = format!("{body} \n{line}");
        let unterminated = text.trim_end();
        let edited = text.replacen("1750000000000", "1750000000001", 1);
        for (case, bytes) in [
            ("upper-case digits", upper.as_str()),
            ("space before the line", spaced.as_str()),
            ("no final newline", unterminated),
            ("an edited value", edited.as_str()),
        ] {
            let e = StateSnapshot::from_reader(bytes.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("checksum"), "{case}: {e}");
        }
    }
}
