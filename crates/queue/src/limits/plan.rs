//! Which partitions a claim serves, and how many jobs each: round-robin in passes.

/// A partition the claim visited, and how many more of its jobs may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub key: String,
    pub free: u64,
}

/// Hand out at most `budget` starts over `visits` (in visit order): one per partition with a
/// free slot per pass, then another pass, so a partition with many free slots does not take
/// a small budget from the partitions after it. Partitions that get nothing are left out;
/// the rest keep visit order.
pub fn allocate(visits: &[Visit], budget: u64) -> Vec<(String, u64)> {
    let mut given = vec![0u64; visits.len()];
    let mut left = budget;
    while left > 0 {
        let mut progressed = false;
        for (i, v) in visits.iter().enumerate() {
            if left == 0 {
                break;
            }
            if given[i] < v.free {
                given[i] += 1;
                left -= 1;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    visits
        .iter()
        .zip(given)
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| (v.key.clone(), n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(key: &str, free: u64) -> Visit {
        Visit {
            key: key.into(),
            free,
        }
    }

    #[test]
    fn one_per_partition_per_pass() {
        let visits = [v("a", 5), v("b", 1), v("c", 0), v("d", 2)];
        assert_eq!(
            allocate(&visits, 3),
            vec![("a".into(), 1), ("b".into(), 1), ("d".into(), 1)]
        );
        assert_eq!(
            allocate(&visits, 6),
            vec![("a".into(), 3), ("b".into(), 1), ("d".into(), 2)]
        );
        assert_eq!(
            allocate(&visits, 100),
            vec![("a".into(), 5), ("b".into(), 1), ("d".into(), 2)]
        );
        assert!(allocate(&visits, 0).is_empty());
    }
}
