//! Concurrency limits, rate limits and fairness, across every worker of a database.
//!
//! A kind declares its [`Limits`] in code ([`crate::KindOptions::limits`]): at most N of its
//! jobs running at once (globally), a partition key (an argument, a metadata field or a
//! function of the arguments) with at most M running per partition, and rates (starts per
//! period, globally and per partition). An operator overrides the numbers at runtime in the
//! database ([`LimitValues`], `specline-enqueue limits set`), and every claim reads them.
//!
//! How it holds (the rules, decided once in [`crate::limited_claim`] for both drivers):
//! - the partition key is computed at insert ([`Limits::partition_of`]) and stored on the job,
//!   so a claim never reads arguments; jobs without limits keep a NULL key and the plain fetch;
//! - a claim of a limited kind locks the kind's row in `specline_limits` for its transaction,
//!   so two claims of one kind never both see "one below the limit";
//! - running jobs are counted from the jobs themselves (`state = 'running'`, through a partial
//!   index, each count stopping at the limit), so completion, retry, cancel and rescue need no
//!   bookkeeping and a crash cannot leave a counter wrong;
//! - partitions are served round-robin, each up to its weight (1 unless
//!   [`LimitValues::weights`] names it) per pass, in the order of virtual start tags given at
//!   insert ([`crate::limited_claim::fair`]), read from one index;
//! - rates are token buckets ([`bucket`]) kept in rows and refilled from the database clock
//!   inside the claim's transaction.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod bucket;
pub mod explain;
pub mod gate;

pub use bucket::Bucket;

/// Where a job's partition key comes from. A job whose key is missing (the field is absent
/// or null) falls in the partition `""`, shared by all such jobs.
#[derive(Debug, Clone, Copy)]
pub enum PartitionBy {
    /// A field of the arguments: a top-level name (`"owner"`) or a JSON pointer (`"/repo/owner"`).
    Arg(&'static str),
    /// A field of the job's metadata, e.g. the run's owner.
    Metadata(&'static str),
    /// A function of the arguments.
    Fn(fn(&Value) -> Option<String>),
}

impl PartialEq for PartitionBy {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PartitionBy::Arg(a), PartitionBy::Arg(b)) => a == b,
            (PartitionBy::Metadata(a), PartitionBy::Metadata(b)) => a == b,
            // Functions have no stable identity: two are never the same declaration.
            _ => false,
        }
    }
}

/// At most `count` starts per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub count: u32,
    #[serde(with = "millis")]
    pub per: Duration,
}

impl Rate {
    pub fn per_second(count: u32) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(1),
        }
    }
    pub fn per_minute(count: u32) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(60),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().min(u64::MAX as u128) as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// A kind's limits, declared in code. The default limits nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// How the partition key is computed at insert. Without it every job of the kind is in
    /// the one partition `""`.
    pub partition: Option<PartitionBy>,
    /// The numbers, which the operator may override in the database.
    pub values: LimitValues,
}

/// The numbers of a kind's limits: what the code declares and what an operator's override
/// (a JSON object whose keys replace the declared ones; `null` lifts a limit) changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitValues {
    /// At most this many of the kind's jobs run at once, over every worker.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// At most this many run at once per partition.
    #[serde(default)]
    pub per_partition: Option<u32>,
    /// At most this many starts per period, over every worker.
    #[serde(default)]
    pub rate: Option<Rate>,
    /// At most this many starts per period per partition.
    #[serde(default)]
    pub partition_rate: Option<Rate>,
    /// Fairness weights by partition key (e.g. an owner's tier): in each round-robin pass a
    /// partition of weight w may start up to w jobs where one of weight 1 starts one.
    /// Partitions not named weigh 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<BTreeMap<String, u32>>,
}

/// The highest weight a partition may have: a pass is at most this many starts of one
/// partition, so the others' wait stays bounded (and a step, a tag unit divided by the
/// weight, stays a whole number well above 1).
pub const MAX_WEIGHT: u32 = 1000;

/// The most partitions an override may weigh: every insert and claim of the kind reads the
/// map, so it stays a tier table, not a row per owner.
pub const MAX_WEIGHTED_PARTITIONS: usize = 10_000;

impl Limits {
    pub fn new() -> Limits {
        Limits::default()
    }
    pub fn concurrency(mut self, n: u32) -> Self {
        self.values.concurrency = Some(n);
        self
    }
    pub fn partition(mut self, by: PartitionBy) -> Self {
        self.partition = Some(by);
        self
    }
    pub fn per_partition(mut self, n: u32) -> Self {
        self.values.per_partition = Some(n);
        self
    }
    pub fn rate(mut self, r: Rate) -> Self {
        self.values.rate = Some(r);
        self
    }
    pub fn partition_rate(mut self, r: Rate) -> Self {
        self.values.partition_rate = Some(r);
        self
    }
    /// The partition `key` weighs `weight` (1 to [`MAX_WEIGHT`]) in the round-robin.
    pub fn weight(mut self, key: &str, weight: u32) -> Self {
        self.values
            .weights
            .get_or_insert_with(BTreeMap::new)
            .insert(key.to_string(), weight.clamp(1, MAX_WEIGHT));
        self
    }

    /// Whether the kind is limited at all: its jobs then carry a partition key and are
    /// claimed through the limited path. A kind declared with a partition but no numbers is
    /// limited too (an operator may set them at runtime).
    pub fn is_limited(&self) -> bool {
        self.partition.is_some() || self.values != LimitValues::default()
    }

    /// The partition key of a job of this kind: `None` for a kind without limits.
    pub fn partition_of(&self, args: &Value, metadata: &Value) -> Option<String> {
        if !self.is_limited() {
            return None;
        }
        let key = match self.partition {
            None => None,
            Some(PartitionBy::Arg(field)) => field_text(args, field),
            Some(PartitionBy::Metadata(field)) => field_text(metadata, field),
            Some(PartitionBy::Fn(f)) => f(args),
        };
        Some(key.unwrap_or_default())
    }
}

/// A field as key text: a string as it is, any other value as its JSON; absent or null: none.
fn field_text(doc: &Value, field: &str) -> Option<String> {
    let v = if field.starts_with('/') {
        doc.pointer(field)
    } else {
        doc.get(field)
    }?;
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl LimitValues {
    /// The weight of partition `key` (1 unless named in [`Self::weights`]).
    pub fn weight_of(&self, key: &str) -> u64 {
        self.weights
            .as_ref()
            .and_then(|w| w.get(key))
            .map_or(1, |w| u64::from((*w).clamp(1, MAX_WEIGHT)))
    }

    /// The declared values with an override's keys replacing them. An override that does not
    /// parse as limit values is ignored as a whole (and reported by `limits set`, which
    /// validates before writing).
    pub fn with_overrides(&self, overrides: &Value) -> LimitValues {
        self.merged(overrides).unwrap_or_else(|_| self.clone())
    }

    /// Check an operator's override object before it is stored.
    pub fn parse_overrides(text: &str) -> std::result::Result<Value, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if !v.is_object() {
            return Err("overrides must be a JSON object".into());
        }
        let values = LimitValues::default().merged(&v)?;
        for rate in [values.rate, values.partition_rate].into_iter().flatten() {
            if rate.count == 0 || rate.per.is_zero() {
                return Err(
                    "a rate needs a count and a period (`per`, in ms) of at least 1".into(),
                );
            }
        }
        if let Some(n) = values
            .weights
            .as_ref()
            .map(BTreeMap::len)
            .filter(|n| *n > MAX_WEIGHTED_PARTITIONS)
        {
            return Err(format!(
                "{n} weighted partitions: at most {MAX_WEIGHTED_PARTITIONS} may be named"
            ));
        }
        if let Some((key, w)) = values
            .weights
            .iter()
            .flatten()
            .find(|(_, w)| **w == 0 || **w > MAX_WEIGHT)
        {
            return Err(format!(
                "the weight of partition {key:?} is {w}: a weight is 1 to {MAX_WEIGHT}"
            ));
        }
        Ok(v)
    }

    fn merged(&self, overrides: &Value) -> std::result::Result<LimitValues, String> {
        let Value::Object(o) = overrides else {
            return Err("overrides must be a JSON object".into());
        };
        let mut merged = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for (k, v) in o {
            merged.insert(k.clone(), v.clone());
        }
        serde_json::from_value(Value::Object(merged)).map_err(|e| e.to_string())
    }
}

/// A limited kind as a worker declares it to the store: its name, its queues, its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub kind: String,
    pub queues: Vec<String>,
    pub values: LimitValues,
}

/// A kind's limits as the database holds them (for `specline-enqueue limits show`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitStatus {
    pub kind: String,
    /// The queues the kind may be in, as the code declares them.
    pub queues: Vec<String>,
    pub declared: LimitValues,
    pub overrides: Value,
    pub effective: LimitValues,
    pub running: i64,
    pub pending: i64,
    /// Claims that a limit (concurrency or rate, global or per partition) held back.
    pub throttled: i64,
    /// The global rate's bucket as the last claim left it.
    pub bucket: Option<Bucket>,
}

/// A partition's jobs (for `specline-enqueue queue show`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionCounts {
    pub key: String,
    pub running: i64,
    pub pending: i64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn partition_keys_come_from_args_metadata_or_a_function() {
        let by_arg = Limits::new()
            .partition(PartitionBy::Arg("owner"))
            .per_partition(1);
        assert_eq!(
            by_arg.partition_of(&json!({"owner": "a"}), &json!({})),
            Some("a".into())
        );
        assert_eq!(
            by_arg.partition_of(&json!({"owner": 7}), &json!({})),
            Some("7".into())
        );
        assert_eq!(
            by_arg.partition_of(&json!({}), &json!({})),
            Some(String::new())
        );
        let by_ptr = Limits::new().partition(PartitionBy::Arg("/repo/owner"));
        assert_eq!(
            by_ptr.partition_of(&json!({"repo": {"owner": "b"}}), &json!({})),
            Some("b".into())
        );
        let by_meta = Limits::new().partition(PartitionBy::Metadata("owner"));
        assert_eq!(
            by_meta.partition_of(&json!({}), &json!({"owner": "c"})),
            Some("c".into())
        );
        let by_fn =
            Limits::new().partition(PartitionBy::Fn(|a| a.get("k").map(|k| format!("x{k}"))));
        assert_eq!(
            by_fn.partition_of(&json!({"k": 1}), &json!({})),
            Some("x1".into())
        );
        let global = Limits::new().concurrency(2);
        assert_eq!(
            global.partition_of(&json!({"owner": "a"}), &json!({})),
            Some(String::new())
        );
        assert_eq!(Limits::new().partition_of(&json!({}), &json!({})), None);
    }

    #[test]
    fn overrides_replace_declared_keys_and_null_lifts_a_limit() {
        let declared = LimitValues {
            concurrency: Some(2),
            per_partition: Some(1),
            ..Default::default()
        };
        let eff = declared.with_overrides(&json!({"concurrency": 5, "per_partition": null}));
        assert_eq!(eff.concurrency, Some(5));
        assert_eq!(eff.per_partition, None);
        let rate = declared.with_overrides(&json!({"rate": {"count": 60, "per": 60000}}));
        assert_eq!(rate.rate, Some(Rate::per_minute(60)));
        // A broken override changes nothing, and `parse_overrides` refuses it.
        assert_eq!(
            declared.with_overrides(&json!({"concurrency": "x"})),
            declared
        );
        assert!(LimitValues::parse_overrides(r#"{"concurency": 1}"#).is_err());
        assert!(LimitValues::parse_overrides("[1]").is_err());
        assert!(LimitValues::parse_overrides(r#"{"concurrency": -1}"#).is_err());
        assert!(LimitValues::parse_overrides(r#"{"concurrency": 3}"#).is_ok());
        assert!(LimitValues::parse_overrides(r#"{"rate": {"count": 0, "per": 1000}}"#).is_err());
        assert!(LimitValues::parse_overrides(r#"{"rate": {"count": 5, "per": 0}}"#).is_err());
    }

    #[test]
    fn weights_default_to_one_and_are_bounded() {
        let declared = Limits::new()
            .partition(PartitionBy::Arg("owner"))
            .weight("gold", 3)
            .values;
        assert_eq!(declared.weight_of("gold"), 3);
        assert_eq!(declared.weight_of("anyone"), 1);
        let eff = declared.with_overrides(&json!({"weights": {"silver": 2}}));
        assert_eq!(
            eff.weight_of("gold"),
            1,
            "an override replaces the whole map"
        );
        assert_eq!(eff.weight_of("silver"), 2);
        assert_eq!(
            declared.with_overrides(&json!({"weights": null})).weights,
            None
        );
        assert!(LimitValues::parse_overrides(r#"{"weights": {"a": 0}}"#).is_err());
        assert!(LimitValues::parse_overrides(r#"{"weights": {"a": 1001}}"#).is_err());
        assert!(LimitValues::parse_overrides(r#"{"weights": {"a": -1}}"#).is_err());
        assert!(LimitValues::parse_overrides(r#"{"weights": {"a": 1000}}"#).is_ok());
        let many = |n: usize| {
            let w: serde_json::Map<String, Value> =
                (0..n).map(|i| (format!("p{i}"), json!(2))).collect();
            json!({ "weights": w }).to_string()
        };
        assert!(LimitValues::parse_overrides(&many(MAX_WEIGHTED_PARTITIONS)).is_ok());
        assert!(LimitValues::parse_overrides(&many(MAX_WEIGHTED_PARTITIONS + 1)).is_err());
    }
}
