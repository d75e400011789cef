//! The per-owner limits are declared in code and their numbers are settings: the settings'
//! defaults are the code's numbers, and a binary's setting replaces the number its worker
//! declares (an operator's override in the database still wins; see docs/queue.md).
#![allow(clippy::unwrap_used)]

use specline_app::{
    AnalyzeRepository, ConvertBehaviors, SummarizeDocument, ANALYSES_PER_OWNER, FEATURES_PER_OWNER,
    SPEC_STEPS_PER_OWNER,
};
use specline_queue::pipeline::StepKind;
use specline_queue::Registry;
use specline_settings::keys::{
    DefaultValue, KeyDef, ANALYZER_ANALYSES_PER_OWNER, SPEC_GENERATOR_FEATURES_PER_OWNER,
    SPEC_GENERATOR_STEPS_PER_OWNER,
};

fn default_of(key: &KeyDef) -> u32 {
    match key.default {
        DefaultValue::Value(v) => v.parse().unwrap(),
        _ => panic!("{} has no single default", key.path()),
    }
}

#[test]
fn the_per_owner_settings_default_to_the_numbers_the_code_declares() {
    assert_eq!(default_of(&ANALYZER_ANALYSES_PER_OWNER), ANALYSES_PER_OWNER);
    assert_eq!(
        default_of(&SPEC_GENERATOR_STEPS_PER_OWNER),
        SPEC_STEPS_PER_OWNER
    );
    assert_eq!(
        default_of(&SPEC_GENERATOR_FEATURES_PER_OWNER),
        FEATURES_PER_OWNER
    );
}

/// The spec generator declares its steps' number, then the conversion's own: the second
/// setting changes only `convert_behaviors`.
#[test]
fn the_features_setting_replaces_only_the_conversions_number() {
    let registry = Registry::new()
        .step(Noop::<ConvertBehaviors>::default())
        .step(Noop::<SummarizeDocument>::default())
        .with_per_partition(SPEC_STEPS_PER_OWNER + 1)
        .with_kind_per_partition(ConvertBehaviors::NAME, FEATURES_PER_OWNER + 5);
    let declared = |name: &str| {
        registry
            .kinds()
            .find(|k| k.kind == name)
            .and_then(|k| k.options.limits.values.per_partition)
    };
    assert_eq!(
        declared(ConvertBehaviors::NAME),
        Some(FEATURES_PER_OWNER + 5)
    );
    assert_eq!(
        declared(SummarizeDocument::NAME),
        Some(SPEC_STEPS_PER_OWNER + 1)
    );
}

/// A step handler that is never run (only its declaration matters here).
struct Noop<K>(std::marker::PhantomData<K>);

impl<K> Default for Noop<K> {
    fn default() -> Self {
        Noop(std::marker::PhantomData)
    }
}

impl<K: StepKind> specline_queue::Step for Noop<K> {
    type Kind = K;
    async fn run(
        &self,
        _ctx: specline_queue::StepContext,
        _c: K::Context,
    ) -> Result<K::Output, specline_queue::JobError> {
        Err(specline_queue::JobError::permanent("NOT_RUN", "never run"))
    }
}

#[test]
fn a_setting_replaces_the_per_owner_number_a_worker_declares() {
    let spec = <AnalyzeRepository as StepKind>::spec();
    assert_eq!(
        spec.options.limits.values.per_partition,
        Some(ANALYSES_PER_OWNER)
    );
    let registry = Registry::new()
        .step(Noop::<AnalyzeRepository>::default())
        .with_per_partition(ANALYSES_PER_OWNER + 3);
    let declared: Vec<_> = registry.kinds().collect();
    assert_eq!(declared.len(), 1);
    assert_eq!(
        declared[0].options.limits.values.per_partition,
        Some(ANALYSES_PER_OWNER + 3)
    );
    // The partition key is the code's: only the number changes.
    assert_eq!(
        declared[0].options.limits.partition,
        spec.options.limits.partition
    );
}

/// The settings' bounds on owners' weights are the engine's, so a value the settings accept
/// is one the engine keeps as written.
#[test]
fn the_owner_weight_bounds_are_the_engines() {
    assert_eq!(
        specline_settings::OWNER_WEIGHT_MAX,
        specline_queue::limits::MAX_WEIGHT
    );
    assert_eq!(
        specline_settings::OWNER_WEIGHTS_MAX,
        specline_queue::limits::MAX_WEIGHTED_PARTITIONS
    );
}

/// Owners' weights from a setting are declared for every partitioned kind of the registry;
/// an empty setting leaves the code's (none).
#[test]
fn owner_weights_are_declared_for_every_partitioned_kind() {
    let weights = specline_settings::parse_owner_weights("gold=3,silver=2").unwrap();
    let registry = Registry::new()
        .step(Noop::<ConvertBehaviors>::default())
        .step(Noop::<SummarizeDocument>::default())
        .with_weights(&weights);
    for kind in [ConvertBehaviors::NAME, SummarizeDocument::NAME] {
        let declared = registry.kinds().find(|k| k.kind == kind).unwrap();
        let w = declared.options.limits.values.weights.clone().unwrap();
        assert_eq!(w.get("gold"), Some(&3), "{kind}");
        assert_eq!(w.get("silver"), Some(&2), "{kind}");
        assert_eq!(declared.options.limits.values.weight_of("bronze"), 1);
    }
    let registry = Registry::new()
        .step(Noop::<AnalyzeRepository>::default())
        .with_weights(&std::collections::BTreeMap::new());
    let declared: Vec<_> = registry.kinds().collect();
    assert_eq!(declared[0].options.limits.values.weights, None);
}
