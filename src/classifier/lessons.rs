//! What one lesson changed in the classifier, as kept in the unlearn
//! journal and in a saved state.

use super::Vector;
use crate::journal::Journal;
use crate::persist::codec::{Dec, Enc};

/// One weight changed by a lesson: its value and squared-gradient sum
/// before and after, so that unlearning puts back the exact bits when
/// nothing else changed it since, and subtracts the change otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Change {
    pub j: u32,
    pub was: f32,
    pub now: f32,
    pub g_was: f32,
    pub g_now: f32,
}

impl Change {
    /// The value and gradient sum with this change taken back from the
    /// current ones.
    pub fn undo(&self, w: f32, g: f32) -> (f32, f32) {
        if w.to_bits() == self.now.to_bits() && g.to_bits() == self.g_now.to_bits() {
            (self.was, self.g_was)
        } else {
            (
                w - (self.now - self.was),
                (g - (self.g_now - self.g_was)).max(0.0),
            )
        }
    }
}

/// What one lesson changed: in the shared weights (`brand` is `None`) or
/// in one brand's overlay.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lesson {
    pub brand: Option<String>,
    pub changes: Vec<Change>,
}

/// The changes of the features of `x` whose (weight, gradient sum), read
/// through `now`, differ from `before`.
pub(crate) fn changed(
    x: &Vector,
    before: &[(f32, f32)],
    now: impl Fn(u32) -> (f32, f32),
) -> Vec<Change> {
    x.iter()
        .zip(before)
        .filter_map(|(&(j, _), &(was, g_was))| {
            let (w, g) = now(j);
            (w.to_bits() != was.to_bits() || g.to_bits() != g_was.to_bits()).then_some(Change {
                j,
                was,
                now: w,
                g_was,
                g_now: g,
            })
        })
        .collect()
}

/// Writes a journal of lessons.
pub(crate) fn encode(journal: &Journal<Lesson>, e: &mut Enc) {
    e.len(journal.len());
    for (id, lessons) in journal.entries() {
        e.str(id);
        e.len(lessons.len());
        for lesson in lessons {
            e.opt_str(lesson.brand.as_deref());
            e.len(lesson.changes.len());
            for c in &lesson.changes {
                e.u32(c.j);
                e.f32(c.was);
                e.f32(c.now);
                e.f32(c.g_was);
                e.f32(c.g_now);
            }
        }
    }
}

/// Reads a journal written by [`encode`]; indices must fall in a table of
/// `size` weights.
pub(crate) fn decode(d: &mut Dec<'_>, size: usize) -> Result<Journal<Lesson>, String> {
    let mut journal = Journal::default();
    let ids = d.len("journal ids", 8)?;
    for _ in 0..ids {
        let id = d.str("message id")?.to_string();
        let n = d.len("lessons", 5)?;
        let mut lessons = Vec::with_capacity(n);
        for _ in 0..n {
            let brand = d.opt_str("lesson scope", "brand name")?.map(str::to_string);
            let m = d.len("weight changes", 20)?;
            let mut changes = Vec::with_capacity(m);
            for _ in 0..m {
                let j = d.u32("weight index")?;
                if j as usize >= size {
                    return Err(format!("corrupt: journal index {j} outside the table"));
                }
                changes.push(Change {
                    j,
                    was: d.f32("weight before")?,
                    now: d.f32("weight after")?,
                    g_was: d.f32("gradient sum before")?,
                    g_now: d.f32("gradient sum after")?,
                });
            }
            lessons.push(Lesson { brand, changes });
        }
        journal.record(&id, lessons);
    }
    Ok(journal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_round_trips_and_refuses_an_index_outside_the_table() {
        let change = Change {
            j: 9,
            was: 0.5,
            now: 0.75,
            g_was: 1.0,
            g_now: 1.5,
        };
        let mut journal = Journal::default();
        journal.record(
            "m1",
            [
                Lesson {
                    brand: None,
                    changes: vec![change],
                },
                Lesson {
                    brand: Some("brand_a".into()),
                    changes: vec![],
                },
            ],
        );
        let mut e = Enc::default();
        encode(&journal, &mut e);
        let mut back = decode(&mut Dec::new(&e.bytes), 16).unwrap();
        assert_eq!(back.take("m1"), journal.take("m1"));
        let e2 = {
            let mut journal = Journal::default();
            journal.record(
                "m1",
                [Lesson {
                    brand: None,
                    changes: vec![change],
                }],
            );
            let mut e = Enc::default();
            encode(&journal, &mut e);
            e
        };
        let err = decode(&mut Dec::new(&e2.bytes), 8).unwrap_err();
        assert!(err.contains("outside the table"), "{err}");
        // Undoing a change nothing touched since puts back the exact bits.
        assert_eq!(change.undo(0.75, 1.5), (0.5, 1.0));
        assert_eq!(change.undo(1.0, 2.0), (0.75, 1.5));
    }
}
