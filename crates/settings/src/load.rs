//! Loading: file, environment, defaults; unknown names; the [`Profile`] of each binary.
//!
//! Precedence is default < file < environment, the usual twelve-factor order: the file holds
//! what a deployment shares, the environment what one process overrides (and secrets, which
//! orchestrators inject as variables).
//!
//! "Known to Specline" and "loaded by this binary" are different questions. A variable of a
//! section this binary does not load is *known* (another binary on the same host or in the same
//! compose file uses it), so it is not reported; but its value is never read. Only names that
//! no binary knows are reported, with a near-miss suggestion.

use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Origin, SettingsError, SettingsWarning};
use crate::keys::{self, Binary, KeyDef, Section, ENV_PREFIX, RESERVED_ENV};
use crate::secret::Secret;
use crate::sections::{
    AllInOneSettings, AnalyzerSettings, EnqueueSettings, SchedulerSettings, SpecGeneratorSettings,
};
use crate::suggest::closest;
use crate::value::{parse_text, parse_toml, Value};

/// How to load.
#[derive(Debug)]
pub struct LoadOptions {
    /// The TOML file. `None`: the file named by `SPECLINE_CONFIG`, or no file.
    pub file: Option<PathBuf>,
    /// Unknown names are an error ([`SettingsError::Unknown`]) instead of warnings.
    pub strict: bool,
    /// The environment.
    pub env: Env,
}

impl LoadOptions {
    /// No file, not strict, the given environment.
    pub fn new(env: Env) -> LoadOptions {
        LoadOptions {
            file: None,
            strict: false,
            env,
        }
    }

    /// The process environment, no file unless `SPECLINE_CONFIG` names one, not strict.
    pub fn from_process_env() -> LoadOptions {
        LoadOptions::new(Env::from_process_env())
    }

    /// With a settings file.
    pub fn file(mut self, path: impl Into<PathBuf>) -> LoadOptions {
        self.file = Some(path.into());
        self
    }

    /// With strict mode on or off.
    pub fn strict(mut self, strict: bool) -> LoadOptions {
        self.strict = strict;
        self
    }
}

/// Loaded settings and what was noticed on the way.
#[derive(Debug)]
pub struct Loaded<P> {
    pub settings: P,
    /// Unknown names (empty in strict mode, where they are an error). Log them at start.
    pub warnings: Vec<SettingsWarning>,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
}

/// The settings of one binary: which binary, and how to build them from a [`Resolver`].
pub trait Profile: Sized {
    /// The binary these settings belong to; its [`Binary::sections`] bound what is read.
    const BINARY: Binary;

    /// Reads every key of the binary's sections and checks cross-key rules.
    fn build(resolver: &Resolver<'_>) -> Result<Self, SettingsError>;

    /// The binary's `[telemetry]`, if it exports traces.
    fn telemetry(&self) -> Option<&crate::sections::TelemetrySettings> {
        None
    }
}

/// Entry point: `Settings::load::<AnalyzerSettings>(&options)`.
pub struct Settings;

impl Settings {
    /// Loads and validates the settings of profile `P`.
    pub fn load<P: Profile>(options: &LoadOptions) -> Result<Loaded<P>, SettingsError> {
        let file_path = options.file.clone().or_else(|| {
            options
                .env
                .get("SPECLINE_CONFIG")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        });
        let table = match &file_path {
            Some(path) => Some(read_file(path)?),
            None => None,
        };

        let mut warnings = unknown_env(&options.env);
        if let (Some(path), Some(table)) = (&file_path, &table) {
            warnings.extend(unknown_file(path, table));
        }
        if options.strict && !warnings.is_empty() {
            return Err(SettingsError::Unknown { warnings });
        }

        let resolver = Resolver {
            binary: P::BINARY,
            env: &options.env,
            file: match (&file_path, &table) {
                (Some(p), Some(t)) => Some((p.as_path(), t)),
                _ => None,
            },
            warnings: &warnings,
        };
        resolver.check_file_sections()?;
        let settings = P::build(&resolver)?;
        Ok(Loaded {
            settings,
            warnings,
            file: file_path,
        })
    }

    /// Loads every binary's settings from the same file and environment, as `doctor` does to
    /// check a deployment: one entry per binary, in [`Binary::ALL`] order, with its warnings or
    /// its error. (Unlike a binary, this reads every section, which is fine for a check.)
    pub fn check_all(
        options: &LoadOptions,
    ) -> Vec<(Binary, Result<Vec<SettingsWarning>, SettingsError>)> {
        fn one<P: Profile>(
            o: &LoadOptions,
        ) -> (Binary, Result<Vec<SettingsWarning>, SettingsError>) {
            (P::BINARY, Settings::load::<P>(o).map(|l| l.warnings))
        }
        vec![
            one::<AnalyzerSettings>(options),
            one::<SpecGeneratorSettings>(options),
            one::<SchedulerSettings>(options),
            one::<EnqueueSettings>(options),
            one::<AllInOneSettings>(options),
        ]
    }
}

/// The largest settings file read. Settings are a few kilobytes; the path may name anything
/// (`/dev/zero`, a FIFO), which must not grow the process without end.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

fn read_file(path: &Path) -> Result<toml::Table, SettingsError> {
    use std::io::Read as _;
    let problem = |problem: String| SettingsError::File {
        path: path.to_path_buf(),
        problem,
    };
    let too_large = || problem(format!("larger than {MAX_FILE_BYTES} bytes; not read"));
    let file = std::fs::File::open(path).map_err(|e| problem(format!("cannot read: {e}")))?;
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > MAX_FILE_BYTES)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| problem(format!("cannot read: {e}")))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| problem(format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to())))?;
    text.parse::<toml::Table>()
        .map_err(|e| SettingsError::File {
            path: path.to_path_buf(),
            problem: toml_problem(&text, &e),
        })
}

/// A TOML syntax error as its message and position only. The parser's own `Display` quotes
/// the offending line, and that line is often `url = postgres://user:PASSWORD@…` or
/// `api_key = …` written without quotes: the secret would be printed with the error.
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let at = e
        .span()
        .map(|span| {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: ")
        })
        .unwrap_or_default();
    // The message names what was expected (`string values must be quoted`), never the value.
    let message = e.message().trim_end().replace('\n', "; ");
    format!("not valid TOML: {at}{message} (the line is not shown: it may hold a secret)")
}

/// Every known environment name (keys and reserved variables).
fn known_env_names() -> Vec<String> {
    keys::KEYS
        .iter()
        .map(KeyDef::env_name)
        .chain(RESERVED_ENV.iter().map(|(n, _)| n.to_string()))
        .collect()
}

/// Unknown environment names: anything with the Specline prefix (in any case) that is not
/// known, and anything else within two edits of a known name (a misspelled prefix).
fn unknown_env(env: &Env) -> Vec<SettingsWarning> {
    let known = known_env_names();
    let mut out = Vec::new();
    for name in env.names() {
        if known.contains(&name) {
            continue;
        }
        let prefixed = name.to_ascii_uppercase().starts_with(ENV_PREFIX);
        let suggestion = closest(
            &name,
            known.iter().map(String::as_str),
            if prefixed { 3 } else { 2 },
        );
        if prefixed || suggestion.is_some() {
            out.push(SettingsWarning {
                origin: Origin::Env(name.clone()),
                name,
                suggestion: suggestion.map(str::to_string),
            });
        }
    }
    out
}

/// Unknown file keys: sections no binary has, keys no section has. Tables of known sections
/// are checked whether or not this binary loads them (key names are not secrets, and a typo
/// in a shared file should be caught by whichever binary starts first).
fn unknown_file(path: &Path, table: &toml::Table) -> Vec<SettingsWarning> {
    let mut out = Vec::new();
    let warn = |name: String, suggestion: Option<String>| SettingsWarning {
        origin: Origin::File(path.to_path_buf()),
        name,
        suggestion,
    };
    let all_paths: Vec<String> = keys::KEYS.iter().map(KeyDef::path).collect();
    for (top, value) in table {
        match Section::from_name(top) {
            Some(section) => {
                let Some(inner) = value.as_table() else {
                    continue; // reported as a type error if this binary loads the section
                };
                for key in inner.keys() {
                    if keys::find(section, key).is_some() {
                        continue;
                    }
                    let name = format!("{top}.{key}");
                    let in_section: Vec<String> = keys::KEYS
                        .iter()
                        .filter(|k| k.section == section)
                        .map(KeyDef::path)
                        .collect();
                    let suggestion = closest(&name, in_section.iter().map(String::as_str), 3)
                        .or_else(|| closest(&name, all_paths.iter().map(String::as_str), 0));
                    out.push(warn(name, suggestion.map(str::to_string)));
                }
            }
            None => {
                // `database_url = ...` at the top level, or a misspelled section.
                let suggestion = closest(top, all_paths.iter().map(String::as_str), 0)
                    .map(str::to_string)
                    .or_else(|| {
                        closest(top, Section::ALL.iter().map(|s| s.name()), 3)
                            .map(|s| format!("[{s}]"))
                    });
                out.push(warn(top.clone(), suggestion));
            }
        }
    }
    out
}

/// Reads keys for one binary: environment, then file, then default; checks types and
/// requirements. Handed to [`Profile::build`]. (No derived `Debug`: it holds the parsed file,
/// secrets included.)
pub struct Resolver<'a> {
    binary: Binary,
    env: &'a Env,
    file: Option<(&'a Path, &'a toml::Table)>,
    warnings: &'a [SettingsWarning],
}

impl std::fmt::Debug for Resolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("binary", &self.binary)
            .field("file", &self.file.map(|(p, _)| p))
            .finish_non_exhaustive()
    }
}

impl Resolver<'_> {
    /// The binary being loaded.
    pub fn binary(&self) -> Binary {
        self.binary
    }

    /// A known section present in the file but not a table is a type error, for the sections
    /// this binary loads.
    fn check_file_sections(&self) -> Result<(), SettingsError> {
        let Some((path, table)) = self.file else {
            return Ok(());
        };
        for section in self.binary.sections() {
            if let Some(value) = table.get(section.name()) {
                if !value.is_table() {
                    return Err(SettingsError::Invalid {
                        key: section.name().to_string(),
                        env: format!("{ENV_PREFIX}{}__*", section.name().to_ascii_uppercase()),
                        origin: Origin::File(path.to_path_buf()),
                        problem: "expected a table ([section])".to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    fn invalid(key: &KeyDef, origin: Origin, problem: String) -> SettingsError {
        SettingsError::Invalid {
            key: key.path(),
            env: key.env_name(),
            origin,
            problem,
        }
    }

    /// The value of `key`, or `None` when unset and not required by this binary.
    fn value(&self, key: &KeyDef) -> Result<Option<Value>, SettingsError> {
        // A profile reading outside its binary's sections is a bug in this crate; refusing to
        // read keeps the isolation promise even then.
        if !self.binary.loads(key.section) {
            debug_assert!(false, "{} does not load {}", self.binary, key.section);
            return Ok(None);
        }
        let env_name = key.env_name();
        let mut empty_env = false;
        match self.env.get(&env_name) {
            Some(text) if !text.is_empty() => {
                return parse_text(key.ty, &text)
                    .map(Some)
                    .map_err(|p| Self::invalid(key, Origin::Env(env_name), p));
            }
            Some(_) => empty_env = true,
            None => {}
        }
        if let Some((path, table)) = self.file {
            let found = table
                .get(key.section.name())
                .and_then(toml::Value::as_table)
                .and_then(|t| t.get(key.key));
            if let Some(value) = found {
                return parse_toml(key.ty, value)
                    .map(Some)
                    .map_err(|p| Self::invalid(key, Origin::File(path.to_path_buf()), p));
            }
        }
        if let Some(text) = key.default.for_binary(self.binary) {
            return parse_text(key.ty, text)
                .map(Some)
                .map_err(|p| Self::invalid(key, Origin::Default, p));
        }
        if key.required_by.contains(&self.binary) {
            return Err(self.missing(key, None, empty_env));
        }
        Ok(None)
    }

    /// The "required" error for `key`, with a hint when a near-miss name is set or the
    /// variable is set but empty.
    fn missing(&self, key: &KeyDef, condition: Option<String>, empty_env: bool) -> SettingsError {
        let env_name = key.env_name();
        let path = key.path();
        let near = self.warnings.iter().find(|w| {
            w.suggestion.as_deref() == Some(env_name.as_str())
                || w.suggestion.as_deref() == Some(path.as_str())
        });
        let hint = match near {
            Some(w) => Some(format!(
                "{} is set: did you mean {}?",
                w.name,
                env_name_or_path(w, &env_name, &path)
            )),
            None if empty_env => Some(format!("{env_name} is set but empty")),
            None => None,
        };
        SettingsError::Missing {
            key: path,
            env: env_name,
            binary: self.binary.name().to_string(),
            condition,
            hint,
        }
    }

    /// True when the environment sets `key` to the empty string (for hints).
    fn env_empty(&self, key: &KeyDef) -> bool {
        self.env.get(&key.env_name()).is_some_and(|v| v.is_empty())
    }

    /// A value that parsed but that the section cannot use (an unknown scheme in a list,
    /// say), naming the key and where the value came from.
    pub fn invalid_value(&self, key: &KeyDef, problem: String) -> SettingsError {
        let env_name = key.env_name();
        let origin = match self.env.get(&env_name) {
            Some(text) if !text.is_empty() => Origin::Env(env_name),
            _ => match self.file {
                Some((path, table))
                    if table
                        .get(key.section.name())
                        .and_then(toml::Value::as_table)
                        .is_some_and(|t| t.contains_key(key.key)) =>
                {
                    Origin::File(path.to_path_buf())
                }
                _ => Origin::Default,
            },
        };
        Self::invalid(key, origin, problem)
    }

    /// A conditional requirement failed: `key` is needed because of `condition`.
    pub fn missing_when(&self, key: &KeyDef, condition: String) -> SettingsError {
        let empty = self.env_empty(key);
        self.missing(key, Some(condition), empty)
    }

    fn must(&self, key: &KeyDef) -> Result<Value, SettingsError> {
        self.value(key)?
            .ok_or_else(|| self.missing(key, None, false))
    }

    /// A string key (string, choice, identifier, language, URL types).
    pub fn opt_string(&self, key: &KeyDef) -> Result<Option<String>, SettingsError> {
        Ok(match self.value(key)? {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        })
    }

    /// A string key with a default.
    pub fn string(&self, key: &KeyDef) -> Result<String, SettingsError> {
        match self.must(key)? {
            Value::Str(s) => Ok(s),
            _ => Err(self.missing(key, None, false)),
        }
    }

    /// An integer key.
    pub fn opt_u64(&self, key: &KeyDef) -> Result<Option<u64>, SettingsError> {
        Ok(match self.value(key)? {
            Some(Value::Int(n)) => Some(n),
            _ => None,
        })
    }

    /// An integer key with a default.
    pub fn u64(&self, key: &KeyDef) -> Result<u64, SettingsError> {
        match self.must(key)? {
            Value::Int(n) => Ok(n),
            _ => Err(self.missing(key, None, false)),
        }
    }

    /// An integer key with a default, as `usize`/`u32` (ranges in the registry keep every
    /// value representable; a failure here names the key all the same).
    pub fn int<T: TryFrom<u64>>(&self, key: &KeyDef) -> Result<T, SettingsError> {
        let n = self.u64(key)?;
        T::try_from(n).map_err(|_| Self::invalid(key, Origin::Given, format!("{n} does not fit")))
    }

    /// A secret key (secret, 32-byte key, database URL types).
    pub fn opt_secret(&self, key: &KeyDef) -> Result<Option<Secret>, SettingsError> {
        Ok(match self.value(key)? {
            Some(Value::Secret(s)) => Some(s),
            _ => None,
        })
    }

    /// An owners' weights key; empty when unset.
    pub fn owner_weights(
        &self,
        key: &KeyDef,
    ) -> Result<std::collections::BTreeMap<String, u32>, SettingsError> {
        Ok(match self.value(key)? {
            Some(Value::OwnerWeights(w)) => w,
            _ => std::collections::BTreeMap::new(),
        })
    }

    /// A path key.
    pub fn opt_path(&self, key: &KeyDef) -> Result<Option<PathBuf>, SettingsError> {
        Ok(match self.value(key)? {
            Some(Value::Path(p)) => Some(p),
            _ => None,
        })
    }

    /// A path key with a default.
    pub fn path(&self, key: &KeyDef) -> Result<PathBuf, SettingsError> {
        match self.must(key)? {
            Value::Path(p) => Ok(p),
            _ => Err(self.missing(key, None, false)),
        }
    }

    /// A socket address key with a default (for this binary).
    pub fn socket_addr(&self, key: &KeyDef) -> Result<std::net::SocketAddr, SettingsError> {
        match self.must(key)? {
            Value::Addr(a) => Ok(a),
            _ => Err(self.missing(key, None, false)),
        }
    }
}

/// The suggestion as written in the same style as the missing key's name.
fn env_name_or_path(w: &SettingsWarning, env_name: &str, path: &str) -> String {
    match w.origin {
        Origin::Env(_) => env_name.to_string(),
        _ => path.to_string(),
    }
}
