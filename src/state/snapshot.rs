//! A serialisable copy of the stream state, so that a restart does not
//! forget a running campaign.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::{CampaignCell, Conversation, MAX_EVENT_MS, SenderRecord};
use crate::Error;
use crate::features::link::reputation::Counts as DomainCounts;

/// The format written by this version; a snapshot of another version is
/// refused rather than misread. It goes up whenever a saved value would
/// mean something else to the new code, and that includes any change to
/// how fingerprint bands are hashed from a text's words: an older
/// snapshot's band keys would match no text. Version 4 adds the
/// conversations; a version 3 snapshot reads as one without any.
const VERSION: u32 = 4;

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

    /// Writes the snapshot as JSON.
    pub fn to_writer(&self, writer: impl Write) -> Result<(), Error> {
        serde_json::to_writer(writer, self)
            .map_err(|e| Error::invalid_input(format!("writing the state snapshot: {e}")))
    }

    /// Reads a snapshot written by [`StateSnapshot::to_writer`].
    pub fn from_reader(reader: impl Read) -> Result<StateSnapshot, Error> {
        let snapshot: StateSnapshot = serde_json::from_reader(reader)
            .map_err(|e| Error::invalid_input(format!("reading the state snapshot: {e}")))?;
        snapshot.check()?;
        Ok(snapshot)
    }
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
    }
}
