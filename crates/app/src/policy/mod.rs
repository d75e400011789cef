//! The repository policy: which repositories a submission may name.
//!
//! Enforced twice with the same code: when the API accepts a submission (a refusal is a 422
//! with one of the codes below and nothing is stored) and when the analyzer runs the step
//! (the queue is a trust boundary too: a run inserted by other means, or a host whose DNS
//! answer changed since submission, is refused there with the same code). It lives here,
//! in a crate without Tree-sitter, so the API can link it.
//!
//! What is refused, each with its code:
//!
//! | code | what |
//! |---|---|
//! | `POLICY_OPTION_LIKE` | a repository or ref starting with `-` (it would reach git as an option) |
//! | `POLICY_INVALID_REF` | a ref that is empty, too long, or has spaces, control characters, `..` or `:` |
//! | `POLICY_INVALID_URL` | a URL that does not parse or names no host |
//! | `POLICY_CREDENTIALS` | any userinfo in the URL (`https://TOKEN@host/…`, `user:pass@`, scp-like `git@host:…`) |
//! | `POLICY_SCHEME` | a scheme not in `allowed_schemes` (default `https` only; `file` never: see local paths) |
//! | `POLICY_LOCAL_PATH` | a local directory or `file://` URL, unless `allow_local_paths` |
//! | `POLICY_HOST` | a host not in `allowed_hosts` (when set) |
//! | `POLICY_ADDRESS` | a host that is or resolves to a non-public address (loopback, private, link-local, CGNAT, multicast, reserved, IPv6 equivalents and IPv4-mapped forms), unless `allow_private_addresses`; a cloud metadata address always |
//! | `POLICY_UNRESOLVED` | a host name that does not resolve |
//!
//! What it cannot stop: a host whose DNS answer changes between this check and git's own
//! resolution (rebinding). The check at run time narrows that window to the seconds
//! between the analyzer's check and its clone.

mod address;
mod resolve;
mod run;

use std::net::IpAddr;

use specline_queue::{ErrorClass, ErrorCode};
use specline_settings::list_items as list;

use crate::AppCode;

pub use address::{classify, AddressClass};
pub use resolve::{Resolve, StaticResolver, SystemResolver};
pub use run::RunPolicy;

/// URL schemes a policy may allow (the settings crate's list, so both agree).
pub use specline_settings::REPOSITORY_SCHEMES as KNOWN_SCHEMES;

/// A refused repository, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("POLICY_OPTION_LIKE: {0}")]
    OptionLike(String),
    #[error("POLICY_INVALID_REF: {0}")]
    InvalidRef(String),
    #[error("POLICY_INVALID_URL: {0}")]
    InvalidUrl(String),
    #[error("POLICY_CREDENTIALS: {0}")]
    Credentials(String),
    #[error("POLICY_SCHEME: {0}")]
    Scheme(String),
    #[error("POLICY_LOCAL_PATH: {0}")]
    LocalPath(String),
    #[error("POLICY_HOST: {0}")]
    Host(String),
    #[error("POLICY_ADDRESS: {0}")]
    Address(String),
    #[error("POLICY_UNRESOLVED: {0}")]
    Unresolved(String),
    /// The policy's own settings are wrong (an unknown scheme, say).
    #[error("POLICY_SETTINGS: {0}")]
    Settings(String),
}

impl PolicyError {
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The error's code in the list.
    pub fn kind(&self) -> AppCode {
        match self {
            PolicyError::OptionLike(_) => AppCode::PolicyOptionLike,
            PolicyError::InvalidRef(_) => AppCode::PolicyInvalidRef,
            PolicyError::InvalidUrl(_) => AppCode::PolicyInvalidUrl,
            PolicyError::Credentials(_) => AppCode::PolicyCredentials,
            PolicyError::Scheme(_) => AppCode::PolicyScheme,
            PolicyError::LocalPath(_) => AppCode::PolicyLocalPath,
            PolicyError::Host(_) => AppCode::PolicyHost,
            PolicyError::Address(_) => AppCode::PolicyAddress,
            PolicyError::Unresolved(_) => AppCode::PolicyUnresolved,
            PolicyError::Settings(_) => AppCode::PolicySettings,
        }
    }

    /// The message without the code.
    pub fn message(&self) -> String {
        let text = self.to_string();
        text.split_once(": ")
            .map_or(text.clone(), |(_, m)| m.to_string())
    }
}

impl ErrorCode for PolicyError {
    fn code(&self) -> &'static str {
        PolicyError::code(self)
    }

    /// A refused repository is refused again on every attempt (a host whose address
    /// changes is refused at run time, by design).
    fn class(&self) -> ErrorClass {
        crate::codes::fixed(self.kind())
    }

    /// Without the code, which the job's history keeps apart.
    fn message(&self) -> String {
        PolicyError::message(self)
    }
}

/// The policy, parsed from `[repository_policy]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPolicy {
    pub allowed_schemes: Vec<String>,
    /// `None`: any host (that resolves to public addresses). An entry starting with `.`
    /// admits that domain's subdomains.
    pub allowed_hosts: Option<Vec<String>>,
    pub allow_local_paths: bool,
    pub allow_private_addresses: bool,
}

impl Default for RepositoryPolicy {
    /// The defaults of the settings: `https` to any public host, nothing local.
    fn default() -> Self {
        RepositoryPolicy {
            allowed_schemes: vec!["https".into()],
            allowed_hosts: None,
            allow_local_paths: false,
            allow_private_addresses: false,
        }
    }
}

/// What a target is, once classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A directory on the analyzer's machine (or a `file://` URL).
    Local,
    Remote {
        scheme: String,
        host: url::Host<String>,
        port: u16,
        /// The addresses every one of which was checked ([`RepositoryPolicy::check`]);
        /// empty from [`RepositoryPolicy::classify`], which resolves nothing. The analyzer
        /// pins git to them (`specline_inventory::pin`), so the name is not resolved again.
        addrs: Vec<IpAddr>,
    },
}

impl RepositoryPolicy {
    /// Parse the settings' comma-separated lists; an unknown scheme is an error (naming
    /// the setting), not silently ignored.
    pub fn from_settings(
        s: &specline_settings::RepositoryPolicySettings,
    ) -> Result<RepositoryPolicy, PolicyError> {
        let allowed_schemes = list(&s.allowed_schemes);
        for scheme in &allowed_schemes {
            if !KNOWN_SCHEMES.contains(&scheme.as_str()) {
                return Err(PolicyError::Settings(format!(
                    "repository_policy.allowed_schemes: unknown scheme `{scheme}` (known: {}; \
                     local paths and file:// are allow_local_paths)",
                    KNOWN_SCHEMES.join(", ")
                )));
            }
        }
        if allowed_schemes.is_empty() {
            return Err(PolicyError::Settings(
                "repository_policy.allowed_schemes is empty".into(),
            ));
        }
        Ok(RepositoryPolicy {
            allowed_schemes,
            allowed_hosts: s.allowed_hosts.as_deref().map(list),
            allow_local_paths: s.allow_local_paths,
            allow_private_addresses: s.allow_private_addresses,
        })
    }

    /// A policy that accepts everything the analyzer can open, for an operator's own
    /// command on their own machine (`specline analyze DIR`): the target comes from the
    /// person who already has the machine.
    pub fn operator() -> RepositoryPolicy {
        RepositoryPolicy {
            allowed_schemes: KNOWN_SCHEMES.iter().map(|s| s.to_string()).collect(),
            allowed_hosts: None,
            allow_local_paths: true,
            allow_private_addresses: true,
        }
    }

    /// Check a repository and ref without resolving names (the syntactic part).
    pub fn classify(&self, repository: &str, git_ref: Option<&str>) -> Result<Target, PolicyError> {
        if let Some(r) = git_ref {
            check_ref(r)?;
        }
        if repository.starts_with('-') {
            return Err(PolicyError::OptionLike(
                "a repository must not start with `-`".into(),
            ));
        }
        if repository.is_empty() || repository.len() > 2048 {
            return Err(PolicyError::InvalidUrl(
                "a repository must be 1 to 2048 bytes".into(),
            ));
        }
        if repository.chars().any(char::is_control) {
            return Err(PolicyError::InvalidUrl(
                "a repository must not contain control characters".into(),
            ));
        }
        if !repository.contains("://") {
            if is_scp_like(repository) {
                return Err(PolicyError::Credentials(
                    "an scp-like address carries a user name; write ssh://host/path".into(),
                ));
            }
            return self.local();
        }
        let url = url::Url::parse(repository)
            .map_err(|e| PolicyError::InvalidUrl(format!("not a URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PolicyError::Credentials(
                "a repository URL must not carry credentials (send an access token apart)".into(),
            ));
        }
        let scheme = url.scheme().to_ascii_lowercase();
        if scheme == "file" {
            return self.local();
        }
        if !self.allowed_schemes.contains(&scheme) {
            return Err(PolicyError::Scheme(format!(
                "scheme `{scheme}` is not allowed (allowed: {})",
                self.allowed_schemes.join(", ")
            )));
        }
        let host = url
            .host()
            .map(|h| h.to_owned())
            .ok_or_else(|| PolicyError::InvalidUrl("the URL names no host".into()))?;
        if let Some(allowed) = &self.allowed_hosts {
            let name = host.to_string().to_ascii_lowercase();
            let ok = allowed
                .iter()
                .any(|a| a == &name || (a.starts_with('.') && name.ends_with(a.as_str())));
            if !ok {
                return Err(PolicyError::Host(format!("host `{name}` is not allowed")));
            }
        }
        let port = url
            .port_or_known_default()
            .unwrap_or(match scheme.as_str() {
                "ssh" => 22,
                "git" => 9418,
                _ => 443,
            });
        Ok(Target::Remote {
            scheme,
            host,
            port,
            addrs: Vec::new(),
        })
    }

    fn local(&self) -> Result<Target, PolicyError> {
        if self.allow_local_paths {
            Ok(Target::Local)
        } else {
            Err(PolicyError::LocalPath(
                "local paths and file:// URLs are not accepted here".into(),
            ))
        }
    }

    /// The whole check: [`RepositoryPolicy::classify`], then the host's addresses.
    pub async fn check(
        &self,
        repository: &str,
        git_ref: Option<&str>,
        resolver: &dyn Resolve,
    ) -> Result<Target, PolicyError> {
        let mut target = self.classify(repository, git_ref)?;
        if let Target::Remote {
            host, port, addrs, ..
        } = &mut target
        {
            let resolved: Vec<IpAddr> = match host {
                url::Host::Ipv4(ip) => vec![IpAddr::V4(*ip)],
                url::Host::Ipv6(ip) => vec![IpAddr::V6(*ip)],
                url::Host::Domain(name) => resolver.resolve(name, *port).await.map_err(|e| {
                    PolicyError::Unresolved(format!("`{name}` does not resolve: {e}"))
                })?,
            };
            if resolved.is_empty() {
                return Err(PolicyError::Unresolved(format!("`{host}` has no address")));
            }
            for ip in &resolved {
                self.check_address(host, *ip)?;
            }
            *addrs = resolved;
        }
        Ok(target)
    }

    fn check_address(&self, host: &url::Host<String>, ip: IpAddr) -> Result<(), PolicyError> {
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::NonPublic if self.allow_private_addresses => Ok(()),
            AddressClass::NonPublic => Err(PolicyError::Address(format!(
                "`{host}` is or resolves to {ip}, a non-public address"
            ))),
            AddressClass::Metadata => Err(PolicyError::Address(format!(
                "`{host}` is or resolves to {ip}, a cloud metadata address"
            ))),
        }
    }
}

/// `user@host:path` (git's scp-like syntax): an `@` before the first `:`, no `/` before it.
fn is_scp_like(target: &str) -> bool {
    match (target.find('@'), target.find(':')) {
        (Some(at), Some(colon)) => at < colon && !target[..at].contains('/'),
        _ => false,
    }
}

/// A ref git will take as a ref and never as an option or a path trick.
fn check_ref(r: &str) -> Result<(), PolicyError> {
    if r.starts_with('-') {
        return Err(PolicyError::OptionLike(
            "a ref must not start with `-`".into(),
        ));
    }
    let bad = r.is_empty()
        || r.len() > 255
        || r.contains("..")
        || r.contains("@{")
        || r.ends_with('/')
        || r.ends_with(".lock")
        || r.chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c));
    if bad {
        return Err(PolicyError::InvalidRef(format!(
            "`{}` is not a valid branch or tag name",
            r.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
