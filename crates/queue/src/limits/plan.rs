//! Which partitions a claim serves, and how many jobs each: weighted round-robin in passes.

/// A partition the claim visited, and how many more of its jobs may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub key: String,
    pub free: u64,
    /// Its starts per pass (its weight, at least 1).
    pub weight: u64,
    /// Its starts in the first pass: its weight, or what a previous claim left of its pass
    /// (the cursor's carry).
    pub first: u64,
}

impl Visit {
    /// A partition of `weight` starting a fresh pass.
    pub fn new(key: String, free: u64, weight: u64) -> Visit {
        let weight = weight.max(1);
        Visit {
            key,
            free,
            weight,
            first: weight,
        }
    }
}

/// What [`allocate`] hands out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// The partitions served, in visit order, with their starts.
    pub given: Vec<(String, u64)>,
    /// The budget ran out in the middle of this visit's pass (index into the visits) with
    /// this many of its pass's starts left, and it could have used them: the next claim
    /// gives them first, so a small claim does not cut a heavy partition's pass short.
    pub carry: Option<(usize, u64)>,
}

/// Hand out at most `budget` starts over `visits` (in visit order), in passes: in each pass
/// a partition gets up to its weight (in the first, up to `first`), never more than its free
/// slots, so a partition with many free slots does not take a small budget from the
/// partitions after it, and one of weight 3 gets three starts where one of weight 1 gets one.
/// Partitions that get nothing are left out; the rest keep visit order.
pub fn allocate(visits: &[Visit], budget: u64) -> Allocation {
    let mut given = vec![0u64; visits.len()];
    let mut left = budget;
    let mut carry = None;
    let mut pass = 0;
    while left > 0 {
        let mut progressed = false;
        for (i, v) in visits.iter().enumerate() {
            if left == 0 {
                break;
            }
            let share = if pass == 0 { v.first } else { v.weight };
            let n = share.min(v.free - given[i]).min(left);
            if n == 0 {
                continue;
            }
            given[i] += n;
            left -= n;
            progressed = true;
            let unused = share.min(v.free - given[i] + n) - n;
            carry = (left == 0 && unused > 0).then_some((i, unused));
        }
        if !progressed {
            break;
        }
        pass += 1;
    }
    Allocation {
        given: visits
            .iter()
            .zip(given)
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| (v.key.clone(), n))
            .collect(),
        carry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(key: &str, free: u64) -> Visit {
        Visit::new(key.into(), free, 1)
    }

    #[test]
    fn one_per_partition_per_pass() {
        let visits = [v("a", 5), v("b", 1), v("c", 0), v("d", 2)];
        assert_eq!(
            allocate(&visits, 3).given,
            vec![("a".into(), 1), ("b".into(), 1), ("d".into(), 1)]
        );
        assert_eq!(
            allocate(&visits, 6).given,
            vec![("a".into(), 3), ("b".into(), 1), ("d".into(), 2)]
        );
        assert_eq!(
            allocate(&visits, 100).given,
            vec![("a".into(), 5), ("b".into(), 1), ("d".into(), 2)]
        );
        assert!(allocate(&visits, 0).given.is_empty());
        // Weight 1 never leaves part of a pass.
        assert_eq!(allocate(&visits, 3).carry, None);
    }

    #[test]
    fn weights_give_that_many_starts_per_pass() {
        let visits = [Visit::new("gold".into(), 100, 3), v("b", 100), v("c", 100)];
        assert_eq!(
            allocate(&visits, 10).given,
            vec![("gold".into(), 6), ("b".into(), 2), ("c".into(), 2)]
        );
        // A weight is bounded by the free slots: gold has 1.
        let short = [Visit::new("gold".into(), 1, 3), v("b", 100)];
        assert_eq!(
            allocate(&short, 4).given,
            vec![("gold".into(), 1), ("b".into(), 3)]
        );
    }

    #[test]
    fn a_pass_cut_short_by_the_budget_is_carried() {
        let visits = [Visit::new("gold".into(), 100, 3), v("b", 100)];
        // Budget 2: gold gets 2 of its 3, and 1 is carried.
        let a = allocate(&visits, 2);
        assert_eq!(a.given, vec![("gold".into(), 2)]);
        assert_eq!(a.carry, Some((0, 1)));
        // The next claim starts with the carried start.
        let next = [
            Visit {
                first: 1,
                ..Visit::new("gold".into(), 100, 3)
            },
            v("b", 100),
        ];
        assert_eq!(
            allocate(&next, 2).given,
            vec![("gold".into(), 1), ("b".into(), 1)]
        );
        // No carry when the partition had no more free slots.
        let full = [Visit::new("gold".into(), 2, 3), v("b", 100)];
        assert_eq!(allocate(&full, 2).carry, None);
    }
}
