//! Finding the rows a database refuses for good inside a batch. Batches share a transaction so
//! that many senders share a commit; one sender's row that the database will never take (a value
//! it cannot hold) must not cost the others theirs. A refused batch is halved, and each half
//! written on its own, until the refused items stand alone.
//!
//! ```text
//! let mut groups = Halving::new(batch.len());
//! while let Some(group) = groups.next_group() {
//!     match write(&batch[group.clone()]).await {
//!         Err(StoreError::Failed(_)) if groups.halve(&group) => {}
//!         answer => /* the answer of every item in `group` */,
//!     }
//! }
//! ```

use std::ops::Range;

/// The groups of a batch still to write, first to last.
#[derive(Debug)]
pub struct Halving {
    /// A stack, the next group on top, so groups are written in their order.
    pending: Vec<Range<usize>>,
}

impl Halving {
    /// A batch of `len` items, written whole first.
    pub fn new(len: usize) -> Halving {
        Halving {
            pending: std::iter::once(0..len)
                .filter(|all| !all.is_empty())
                .collect(),
        }
    }

    /// The next group to write.
    pub fn next_group(&mut self) -> Option<Range<usize>> {
        self.pending.pop()
    }

    /// `group` was refused for good: its halves are written next. False for a lone item, whose
    /// refusal is its own answer.
    pub fn halve(&mut self, group: &Range<usize>) -> bool {
        if group.len() < 2 {
            return false;
        }
        let middle = group.start + group.len() / 2;
        self.pending.push(middle..group.end);
        self.pending.push(group.start..middle);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a database that refuses every group holding a poisoned item stores of `len` items:
    /// the stored items, the refused ones, and how many writes it took.
    fn write(len: usize, poisoned: &[usize]) -> (Vec<usize>, Vec<usize>, usize) {
        let (mut stored, mut refused, mut writes) = (Vec::new(), Vec::new(), 0);
        let mut next_expected = 0;
        let mut groups = Halving::new(len);
        while let Some(group) = groups.next_group() {
            writes += 1;
            let taken = !group.clone().any(|item| poisoned.contains(&item));
            if !taken && groups.halve(&group) {
                continue;
            }
            assert_eq!(group.start, next_expected, "groups are answered in order");
            next_expected = group.end;
            if taken {
                stored.extend(group);
            } else {
                refused.extend(group);
            }
        }
        assert_eq!(next_expected, len, "every item is answered");
        (stored, refused, writes)
    }

    #[test]
    fn only_the_refused_items_are_lost() {
        let (stored, refused, writes) = write(31, &[7, 8, 30]);
        assert_eq!(refused, [7, 8, 30]);
        assert_eq!(stored.len(), 28);
        assert!(writes < 31, "halving, not one write per item: {writes}");
    }

    #[test]
    fn a_batch_that_is_taken_is_written_once() {
        assert_eq!(write(256, &[]).2, 1);
        assert_eq!(write(1, &[0]), (vec![], vec![0], 1));
        assert_eq!(write(0, &[]), (vec![], vec![], 0));
    }
}
