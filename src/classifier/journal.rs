//! What online learning changed, by message id, so that a mistaken "spam"
//! or "not spam" click can be taken back with
//! [`Filter::unlearn`](crate::Filter::unlearn).

use std::collections::{HashMap, VecDeque};

/// Messages remembered at most; the oldest are forgotten first, so memory
/// stays bounded however long the filter learns.
const CAPACITY: usize = 10_000;

/// Weight changes per learned message id, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    by_id: HashMap<String, Vec<(u32, f32)>>,
    order: VecDeque<String>,
}

impl Journal {
    /// Records the changes of one learned message; learning the same id
    /// again adds to what it changed before.
    pub fn record(&mut self, id: &str, deltas: Vec<(u32, f32)>) {
        if let Some(old) = self.by_id.get_mut(id) {
            old.extend(deltas);
            return;
        }
        if self.order.len() >= CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_id.remove(&oldest);
        }
        self.order.push_back(id.to_string());
        self.by_id.insert(id.to_string(), deltas);
    }

    /// Removes and returns the changes of one message.
    pub fn take(&mut self, id: &str) -> Option<Vec<(u32, f32)>> {
        let deltas = self.by_id.remove(id)?;
        if let Some(at) = self.order.iter().position(|o| o == id) {
            self.order.remove(at);
        }
        Some(deltas)
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
        assert_eq!(j.take("0"), None);
        assert!(j.take(&CAPACITY.to_string()).is_some());
    }
}
