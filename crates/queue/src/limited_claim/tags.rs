//! Virtual start tags: what a job of a limited kind gets at insert, decided once for both
//! drivers (each driver reads the kind's clock and weights and the partitions' last tags,
//! asks [`Tagger`], and writes the last tags back).
//!
//! A partition's next tag is its last tag or the kind's virtual time, whichever is later,
//! plus its step, [`TAG_UNIT`] divided by its weight (start-time fair queuing). The fair
//! order ([`super::fair`]) reads queued jobs by tag.

use std::collections::HashMap;

use crate::limits::LimitValues;

/// A weight-1 partition's step between two tags; a partition of weight `w` steps
/// `TAG_UNIT / w`, rounded down (a thousandth of a unit at most, over the highest weight).
pub const TAG_UNIT: i64 = 1_000_000;

/// The step between two tags of a partition of `weight`.
pub fn step(weight: u64) -> i64 {
    TAG_UNIT / i64::try_from(weight.clamp(1, u64::from(crate::limits::MAX_WEIGHT))).unwrap_or(1)
}

/// The tag of a partition's next job: after its last tag, never before the kind's virtual
/// time.
pub fn next_tag(vtime: i64, last: Option<i64>, weight: u64) -> i64 {
    last.unwrap_or(vtime)
        .max(vtime)
        .saturating_add(step(weight))
}

/// Gives inserted jobs of limited kinds their tags, one insert at a time, reading each kind's
/// virtual time and weights and each partition's last tag once; [`Tagger::last_tags`] is
/// what the insert writes back.
#[derive(Debug, Default)]
pub struct Tagger {
    kinds: HashMap<String, (i64, LimitValues)>,
    last: HashMap<(String, String), Option<i64>>,
}

impl Tagger {
    /// Whether the kind's clock and weights are known here.
    pub fn knows_kind(&self, kind: &str) -> bool {
        self.kinds.contains_key(kind)
    }

    /// Note the kind's virtual time and values (`None`: the kind is not declared yet, so it
    /// starts at 0 with every weight 1).
    pub fn set_kind(&mut self, kind: &str, clock: Option<(i64, LimitValues)>) {
        self.kinds
            .insert(kind.to_string(), clock.unwrap_or_default());
    }

    /// Whether the partition's last tag is known here.
    pub fn knows_partition(&self, kind: &str, key: &str) -> bool {
        self.last.contains_key(&(kind.to_string(), key.to_string()))
    }

    /// Note the partition's last tag as stored.
    pub fn set_partition(&mut self, kind: &str, key: &str, last: Option<i64>) {
        self.last.insert((kind.to_string(), key.to_string()), last);
    }

    /// The next tag of the partition (its kind and partition must be known).
    pub fn tag(&mut self, kind: &str, key: &str) -> i64 {
        let (vtime, weight) = self
            .kinds
            .get(kind)
            .map_or((0, 1), |(t, v)| (*t, v.weight_of(key)));
        let last = self
            .last
            .entry((kind.to_string(), key.to_string()))
            .or_default();
        let tag = next_tag(vtime, *last, weight);
        *last = Some(tag);
        tag
    }

    /// `(kind, partition key, last tag)` of every partition tagged here.
    pub fn last_tags(&self) -> Vec<(&str, &str, i64)> {
        self.last
            .iter()
            .filter_map(|((k, p), t)| Some((k.as_str(), p.as_str(), (*t)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_steps_by_its_weight_from_the_later_of_its_last_tag_and_the_clock() {
        assert_eq!(next_tag(0, None, 1), TAG_UNIT);
        assert_eq!(next_tag(5 * TAG_UNIT, Some(2 * TAG_UNIT), 1), 6 * TAG_UNIT);
        assert_eq!(next_tag(TAG_UNIT, Some(7 * TAG_UNIT), 1), 8 * TAG_UNIT);
        assert_eq!(next_tag(0, None, 4), TAG_UNIT / 4);
        assert_eq!(step(0), TAG_UNIT, "a weight of 0 counts as 1");
        assert_eq!(
            step(1_000_000),
            TAG_UNIT / 1000,
            "weights stop at the maximum"
        );
    }

    #[test]
    fn tags_interleave_partitions_in_proportion_to_their_weights() {
        let mut t = Tagger::default();
        let values = LimitValues {
            weights: Some([("gold".to_string(), 3)].into()),
            ..Default::default()
        };
        t.set_kind("k", Some((10 * TAG_UNIT, values)));
        for p in ["gold", "b"] {
            t.set_partition("k", p, None);
        }
        let mut all: Vec<(i64, &str)> = Vec::new();
        for _ in 0..6 {
            all.push((t.tag("k", "gold"), "gold"));
        }
        for _ in 0..2 {
            all.push((t.tag("k", "b"), "b"));
        }
        all.sort();
        let order: Vec<&str> = all.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            order,
            ["gold", "gold", "gold", "b", "gold", "gold", "gold", "b"]
        );
        assert_eq!(
            all[0].0,
            10 * TAG_UNIT + TAG_UNIT / 3,
            "the first tag follows the clock"
        );
        let mut last = t.last_tags();
        last.sort();
        assert_eq!(
            last,
            [
                ("k", "b", 12 * TAG_UNIT),
                ("k", "gold", 10 * TAG_UNIT + 6 * (TAG_UNIT / 3))
            ]
        );
    }
}
