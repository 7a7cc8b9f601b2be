//! What learning changed, by message id, so that a mistaken "spam" or "not
//! spam" click can be taken back with [`Filter::unlearn`](crate::Filter::unlearn).
//! The classifier keeps one journal of weight changes and the link
//! reputation one of domain counts.

use std::collections::{HashMap, VecDeque};

/// Messages remembered at most; the oldest are forgotten first, so memory
/// stays bounded however long the filter learns.
pub(crate) const CAPACITY: usize = 10_000;

/// The changes made per learned message id, oldest id first.
#[derive(Debug)]
pub(crate) struct Journal<R> {
    by_id: HashMap<String, Vec<R>>,
    order: VecDeque<String>,
}

impl<R> Default for Journal<R> {
    fn default() -> Self {
        Journal {
            by_id: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<R> Journal<R> {
    /// Records the changes of one learned message; learning the same id
    /// again adds to what it changed before.
    pub fn record(&mut self, id: &str, changes: impl IntoIterator<Item = R>) {
        if let Some(old) = self.by_id.get_mut(id) {
            old.extend(changes);
            return;
        }
        if self.order.len() >= CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_id.remove(&oldest);
        }
        self.order.push_back(id.to_string());
        self.by_id
            .insert(id.to_string(), changes.into_iter().collect());
    }

    /// Removes and returns the changes of one message, in the order they
    /// were made.
    pub fn take(&mut self, id: &str) -> Option<Vec<R>> {
        let changes = self.by_id.remove(id)?;
        if let Some(at) = self.order.iter().position(|o| o == id) {
            self.order.remove(at);
        }
        Some(changes)
    }

    /// Every id with its changes, oldest first: what a saved state holds.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[R])> {
        self.order
            .iter()
            .filter_map(|id| Some((id.as_str(), self.by_id.get(id)?.as_slice())))
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_taken_once_and_the_oldest_are_forgotten() {
        let mut j = Journal::default();
        j.record("a", vec![(1, 0.5)]);
        j.record("a", vec![(2, 0.25)]);
        assert_eq!(j.take("a"), Some(vec![(1, 0.5), (2, 0.25)]));
        assert_eq!(j.take("a"), None);
        for i in 0..CAPACITY + 1 {
            j.record(&i.to_string(), vec![]);
        }
        assert_eq!(j.len(), CAPACITY);
        assert_eq!(j.take("0"), None);
        assert!(j.take(&CAPACITY.to_string()).is_some());
        assert_eq!(j.entries().next().map(|e| e.0), Some("1"));
    }
}
