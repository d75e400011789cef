//! A rollout's mode, as an operator writes it and the database stores it, and the two
//! deterministic choices it implies: which implementation a key gets in `percent` mode, and
//! whether a job is sampled for a shadow run. Here, under `store`, because the stored rows
//! hold it (see [`super::rollout_rows`]); the rollout module re-exports it.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What a rollout does with the jobs that reach it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RolloutMode {
    /// Only the primary runs (the default of a rollout nobody has set).
    Off,
    /// Both run; the primary's result is used, the candidate's is compared and recorded.
    /// `sample` (0.0–1.0) is the share of jobs whose candidate runs.
    Shadow { sample: f64 },
    /// The candidate is the implementation for this share (0–100) of keys, the primary for
    /// the rest; a key always gets the same one while the percentage stays.
    Percent(u8),
    /// Only the candidate runs.
    Full,
}

/// Which implementation serves a job (shadow runs aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Primary,
    Candidate,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Primary => "primary",
            Variant::Candidate => "candidate",
        }
    }
}

/// Buckets a key falls in: percentages are decided in hundredths of a point.
const BUCKETS: u64 = 10_000;

/// The bucket (0..10,000) of `key` in rollout `name`: a hash, so keys spread evenly, and the
/// name is part of it, so two rollouts at 10% do not pick the same users.
pub fn bucket(name: &str, key: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    h.update(key.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first) % BUCKETS
}

impl RolloutMode {
    /// The implementation that serves `key` in rollout `name` (shadow and off: the primary).
    pub fn serves(&self, name: &str, key: &str) -> Variant {
        match *self {
            RolloutMode::Off | RolloutMode::Shadow { .. } => Variant::Primary,
            RolloutMode::Full => Variant::Candidate,
            RolloutMode::Percent(p) => {
                if bucket(name, key) < u64::from(p.min(100)) * (BUCKETS / 100) {
                    Variant::Candidate
                } else {
                    Variant::Primary
                }
            }
        }
    }

    /// Whether job `job_id` runs the candidate beside the primary: only in shadow mode, for
    /// the sampled share of jobs, decided by the job id (a retried attempt decides alike).
    pub fn shadows(&self, name: &str, job_id: i64) -> bool {
        match *self {
            RolloutMode::Shadow { sample } => {
                let threshold = (sample.clamp(0.0, 1.0) * BUCKETS as f64).round() as u64;
                bucket(&format!("{name}#sample"), &job_id.to_string()) < threshold
            }
            _ => false,
        }
    }

    /// Parse an operator's words: `off`, `shadow` (every job), `shadow 0.25` or
    /// `shadow 25%`, `percent 10` (or `10%`), `full`.
    pub fn parse(text: &str) -> Result<Self> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad = |why: &str| {
            Error::InvalidRollout(format!(
                "`{text}`: {why}; expected off, shadow [RATE], percent N or full"
            ))
        };
        match words.as_slice() {
            ["off"] => Ok(RolloutMode::Off),
            ["full"] => Ok(RolloutMode::Full),
            ["shadow"] => Ok(RolloutMode::Shadow { sample: 1.0 }),
            ["shadow", rate] => {
                let sample = match rate.strip_suffix('%') {
                    Some(p) => p.parse::<f64>().map(|p| p / 100.0),
                    None => rate.parse::<f64>(),
                }
                .map_err(|_| bad("the sampling rate is not a number"))?;
                if !(0.0..=1.0).contains(&sample) || sample.is_nan() {
                    return Err(bad(
                        "the sampling rate must be between 0 and 1 (or 0% and 100%)",
                    ));
                }
                Ok(RolloutMode::Shadow { sample })
            }
            ["percent", n] | [n] if n.ends_with('%') || words[0] == "percent" => {
                let n = n.strip_suffix('%').unwrap_or(n);
                let p: u8 = n
                    .parse()
                    .map_err(|_| bad("the percentage is not a whole number"))?;
                if p > 100 {
                    return Err(bad("the percentage must be between 0 and 100"));
                }
                Ok(RolloutMode::Percent(p))
            }
            _ => Err(bad("unknown mode")),
        }
    }
}

impl fmt::Display for RolloutMode {
    /// The stored form; [`RolloutMode::parse`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolloutMode::Off => f.write_str("off"),
            RolloutMode::Shadow { sample } if *sample >= 1.0 => f.write_str("shadow"),
            RolloutMode::Shadow { sample } => write!(f, "shadow {sample}"),
            RolloutMode::Percent(p) => write!(f, "percent {p}"),
            RolloutMode::Full => f.write_str("full"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print_back() {
        for (text, mode) in [
            ("off", RolloutMode::Off),
            ("full", RolloutMode::Full),
            ("shadow", RolloutMode::Shadow { sample: 1.0 }),
            ("shadow 0.25", RolloutMode::Shadow { sample: 0.25 }),
            ("percent 10", RolloutMode::Percent(10)),
        ] {
            assert_eq!(RolloutMode::parse(text).unwrap(), mode);
            assert_eq!(mode.to_string(), text);
        }
        assert_eq!(
            RolloutMode::parse("shadow 25%").unwrap(),
            RolloutMode::Shadow { sample: 0.25 }
        );
        assert_eq!(RolloutMode::parse("50%").unwrap(), RolloutMode::Percent(50));
        for bad in [
            "",
            "on",
            "percent 101",
            "percent -1",
            "percent x",
            "shadow 2",
            "shadow x",
            "full 3",
        ] {
            let e = RolloutMode::parse(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ROLLOUT", "{bad}");
        }
    }

    #[test]
    fn percent_is_a_stable_share_of_keys() {
        let mode = RolloutMode::Percent(10);
        let keys: Vec<String> = (0..20_000).map(|i| format!("owner-{i}")).collect();
        let on = keys
            .iter()
            .filter(|k| mode.serves("r", k) == Variant::Candidate)
            .count();
        let share = on as f64 / keys.len() as f64;
        assert!((0.09..=0.11).contains(&share), "{share}");
        // Growing the percentage only adds keys: nobody on the candidate at 10% goes back.
        for k in &keys {
            if mode.serves("r", k) == Variant::Candidate {
                assert_eq!(RolloutMode::Percent(50).serves("r", k), Variant::Candidate);
            }
        }
        assert!(keys
            .iter()
            .all(|k| RolloutMode::Percent(0).serves("r", k) == Variant::Primary));
        assert!(keys
            .iter()
            .all(|k| RolloutMode::Percent(100).serves("r", k) == Variant::Candidate));
    }

    #[test]
    fn shadow_sampling_takes_its_share_of_jobs() {
        let half = RolloutMode::Shadow { sample: 0.5 };
        let n = (1..=10_000).filter(|id| half.shadows("r", *id)).count();
        assert!((4_700..=5_300).contains(&n), "{n}");
        assert!((1..=1000).all(|id| RolloutMode::Shadow { sample: 1.0 }.shadows("r", id)));
        assert!((1..=1000).all(|id| !RolloutMode::Shadow { sample: 0.0 }.shadows("r", id)));
        assert!((1..=1000).all(|id| !RolloutMode::Percent(100).shadows("r", id)));
    }
}
