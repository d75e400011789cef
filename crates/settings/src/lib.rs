//! Typed settings for the Specline binaries, their secrets, and the token cipher.
//!
//! Each binary loads only the sections it needs, from an optional TOML file and
//! `SPECLINE_<SECTION>__<KEY>` environment variables:
//!
//! ```no_run
//! use specline_settings::{AnalyzerSettings, LoadOptions, Settings};
//!
//! let loaded = Settings::load::<AnalyzerSettings>(&LoadOptions::from_process_env())
//!     .unwrap_or_else(|e| {
//!         eprintln!("{e}");
//!         std::process::exit(2)
//!     });
//! for warning in &loaded.warnings {
//!     eprintln!("{warning}");
//! }
//! ```
//!
//! Why a crate of its own: the separate binaries must not link each other's dependencies (the
//! analyzer no AI client, the spec generator no Tree-sitter), so settings cannot live in a crate
//! that pulls either in. This one depends only on serde, toml, base64 and the cipher.
//!
//! - [`keys`]: the registry of every key; the loader, the unknown-name report and the
//!   reference are all driven by it.
//! - [`Settings::load`] with a [`Profile`] (`AnalyzerSettings`, `SpecGeneratorSettings`, ...).
//! - [`Secret`]: redacted in `Debug`, `Display` and `Serialize`.
//! - [`TokenCipher`]: XChaCha20-Poly1305 for stored repository access tokens.
//! - [`reference_markdown`]: the text of `docs/settings.md`.

mod cipher;
mod env;
mod error;
pub mod keys;
mod load;
mod reference;
mod secret;
mod sections;
mod suggest;
mod value;

pub use cipher::{CipherError, TokenCipher};
pub use env::Env;
pub use error::{Origin, SettingsCode, SettingsError, SettingsWarning};
pub use keys::{Binary, Section};
pub use load::{LoadOptions, Loaded, Profile, Resolver, Settings, MAX_FILE_BYTES};
pub use reference::reference_markdown;
pub use secret::{Secret, REDACTED};
pub use sections::{list_items, REPOSITORY_SCHEMES};
pub use sections::{
    AllInOneSettings, AnalyzerSection, AnalyzerSettings, ApiAuth, ApiSection, ApiSettings,
    DatabaseSettings, DatabaseTarget, EnqueueSettings, HttpSettings, LocalSettings, ProviderKind,
    ProviderSettings, RepositoryPolicySettings, SchedulerSection, SchedulerSettings,
    SecuritySettings, SpecGeneratorSection, SpecGeneratorSettings, TelemetrySettings,
};
pub use value::{parse_owner_weights, OWNER_WEIGHTS_MAX, OWNER_WEIGHT_MAX};
