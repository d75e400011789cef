//! What may be asked to be analyzed: a local directory or a git URL, and a branch or tag.
//!
//! Every path that accepts a target from a user (the CLI, `specline-enqueue`, the analyzer
//! reading a run's input, the API) parses it here, once, so a refused target never reaches
//! a run's stored input, the watched repositories, a log line or a `git` command line. It
//! lives in this crate, beside the inventory types, because every binary may link it: it
//! has no Tree-sitter and runs no program.
//!
//! Refused, each with a stable code ([`TargetError::code`]):
//! - any userinfo in a URL (`https://TOKEN@host/…`, `ssh://user@host/…`, `user@host:path`,
//!   `user:pass@`): it would be stored and logged in plain text (`CREDENTIALS_IN_URL`);
//!   tokens travel separately and encrypted, SSH users come from the SSH client's own
//!   configuration;
//! - anything starting with `-`, which `git` would read as an option (`TARGET_OPTION`);
//! - control characters, remote-helper syntax (`ext::…`, `fd::…`) and schemes other than
//!   http, https, ssh, git and file (`UNSUPPORTED_SCHEME`, `INVALID_TARGET`);
//! - a branch or tag that `git check-ref-format --branch` would refuse (`INVALID_REF`),
//!   checked by [`check_ref`], a pure function.
//!
//! Error messages never repeat the input: a refused URL may hold a secret.

use std::path::PathBuf;

/// Schemes a git URL may use.
pub const GIT_SCHEMES: &[&str] = &["https", "http", "ssh", "git", "file", "git+ssh", "ssh+git"];

/// Longest accepted target or ref, in bytes.
pub const MAX_TARGET_LEN: usize = 4096;
const MAX_REF_LEN: usize = 255;

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A directory on this machine.
    Local(PathBuf),
    /// A git URL without userinfo (`scheme://host/path`).
    Git {
        url: String,
        /// The URL's scheme, lower-cased (`https`, `ssh`, `file`, …).
        scheme: String,
    },
}

/// Why a target or ref was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("INVALID_TARGET: the target is empty")]
    Empty,
    #[error("INVALID_TARGET: the target is longer than {} bytes", MAX_TARGET_LEN)]
    TooLong,
    #[error("INVALID_TARGET: the target contains a control character")]
    ControlCharacter,
    #[error("TARGET_OPTION: the target starts with `-`, which git would read as an option")]
    LooksLikeOption,
    #[error(
        "CREDENTIALS_IN_URL: the URL carries a user name or password, which would be stored in \
         plain text; pass an access token separately (e.g. --token-env VAR), and set an SSH \
         user in the SSH client's configuration"
    )]
    CredentialsInUrl,
    #[error("UNSUPPORTED_SCHEME: only {} URLs are accepted", GIT_SCHEMES.join(", "))]
    UnsupportedScheme,
    #[error("INVALID_TARGET: {0}")]
    InvalidUrl(&'static str),
    #[error("INVALID_REF: {0}")]
    InvalidRef(&'static str),
}

specline_error_codes::codes! {
    /// The codes of a refused target, each once.
    pub enum TargetCode in "specline-inventory-model" {
        InvalidTarget = ("INVALID_TARGET", Permanent, "the target is empty, too long, has a control character or is not a URL git can use"),
        TargetOption = ("TARGET_OPTION", Permanent, "the target starts with `-`, which git would read as an option"),
        CredentialsInUrl = ("CREDENTIALS_IN_URL", Permanent, "the URL carries a user name or password"),
        UnsupportedScheme = ("UNSUPPORTED_SCHEME", Permanent, "a URL scheme other than http, https, ssh, git and file"),
        InvalidRef = ("INVALID_REF", Permanent, "a branch or tag `git check-ref-format --branch` would refuse"),
    }
}

impl TargetError {
    /// The stable code of the error.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The error's code in the list.
    pub fn kind(&self) -> TargetCode {
        match self {
            TargetError::Empty
            | TargetError::TooLong
            | TargetError::ControlCharacter
            | TargetError::InvalidUrl(_) => TargetCode::InvalidTarget,
            TargetError::LooksLikeOption => TargetCode::TargetOption,
            TargetError::CredentialsInUrl => TargetCode::CredentialsInUrl,
            TargetError::UnsupportedScheme => TargetCode::UnsupportedScheme,
            TargetError::InvalidRef(_) => TargetCode::InvalidRef,
        }
    }
}

impl specline_error_codes::ErrorCode for TargetError {
    fn code(&self) -> &'static str {
        TargetError::code(self)
    }

    /// A refused target is refused again on every attempt.
    fn class(&self) -> specline_error_codes::ErrorClass {
        specline_error_codes::ErrorClass::Permanent
    }
}

impl Target {
    /// Parses a target as a user typed it.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        if input.is_empty() {
            return Err(TargetError::Empty);
        }
        if input.len() > MAX_TARGET_LEN {
            return Err(TargetError::TooLong);
        }
        if input.chars().any(char::is_control) {
            return Err(TargetError::ControlCharacter);
        }
        if input.starts_with('-') {
            return Err(TargetError::LooksLikeOption);
        }
        if let Some((scheme, rest)) = input.split_once("://") {
            if is_scheme(scheme) {
                return parse_url(scheme, rest, input);
            }
        }
        // `transport::address` runs a remote helper (`ext::sh -c …` runs a command).
        if let Some((transport, _)) = input.split_once("::") {
            if is_scheme(transport) {
                return Err(TargetError::UnsupportedScheme);
            }
        }
        // scp-like `[user@]host:path` (a `:` before any `/`): git reads it as SSH.
        if let Some(colon) = input.find(':') {
            let before = &input[..colon];
            if !before.contains('/') && !is_windows_drive(before) {
                if before.contains('@') {
                    return Err(TargetError::CredentialsInUrl);
                }
                return Err(TargetError::InvalidUrl(
                    "scp-like `host:path` targets are not accepted; write ssh://host/path",
                ));
            }
        }
        Ok(Target::Local(PathBuf::from(input)))
    }

    /// True for a git URL.
    pub fn is_git(&self) -> bool {
        matches!(self, Target::Git { .. })
    }
}

fn is_windows_drive(s: &str) -> bool {
    s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// `scheme` per RFC 3986: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

fn parse_url(scheme: &str, rest: &str, input: &str) -> Result<Target, TargetError> {
    let scheme = scheme.to_ascii_lowercase();
    if !GIT_SCHEMES.contains(&scheme.as_str()) {
        return Err(TargetError::UnsupportedScheme);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let path = &rest[authority_end..];
    if authority.contains('@') {
        return Err(TargetError::CredentialsInUrl);
    }
    if rest.contains(['?', '#']) {
        return Err(TargetError::InvalidUrl(
            "a git URL has no query or fragment",
        ));
    }
    if input.chars().any(char::is_whitespace) {
        return Err(TargetError::InvalidUrl("a URL contains no whitespace"));
    }
    if scheme == "file" {
        if !(authority.is_empty() || authority.eq_ignore_ascii_case("localhost")) {
            return Err(TargetError::InvalidUrl("a file:// URL names no host"));
        }
        if path.is_empty() {
            return Err(TargetError::InvalidUrl("the URL has no path"));
        }
    } else {
        check_authority(authority)?;
    }
    Ok(Target::Git {
        url: input.to_string(),
        scheme,
    })
}

/// `host[:port]` or `[v6]:port`: a host that cannot be read as an option by the programs
/// git hands it to (`ssh -oProxyCommand=…`).
fn check_authority(authority: &str) -> Result<(), TargetError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(TargetError::InvalidUrl("an IPv6 host lacks its `]`"));
        };
        if !host
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(TargetError::InvalidUrl(
                "an IPv6 host holds other characters",
            ));
        }
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(TargetError::InvalidUrl("the URL has no host"));
    }
    if host.starts_with('-') {
        return Err(TargetError::LooksLikeOption);
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'))
    {
        return Err(TargetError::InvalidUrl(
            "the host holds characters a host name has not",
        ));
    }
    if let Some(p) = port {
        if p.parse::<u16>().is_err() {
            return Err(TargetError::InvalidUrl(
                "the port is not a number up to 65535",
            ));
        }
    }
    Ok(())
}

/// Checks a branch or tag name as `git check-ref-format --branch` would, and refuses a
/// leading `-` (an option to git). Pure: no `git` process.
pub fn check_ref(name: &str) -> Result<(), TargetError> {
    use TargetError::InvalidRef as Bad;
    if name.is_empty() {
        return Err(Bad("the ref is empty"));
    }
    if name.len() > MAX_REF_LEN {
        return Err(Bad("the ref is longer than 255 bytes"));
    }
    if name.starts_with('-') {
        return Err(Bad(
            "a ref starts with no `-` (git would read it as an option)",
        ));
    }
    if name == "@" {
        return Err(Bad("`@` alone is not a ref"));
    }
    if name
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
    {
        return Err(Bad(
            "a ref holds no control character, space, `~`, `^`, `:`, `?`, `*`, `[` or `\\`",
        ));
    }
    if name.contains("..") {
        return Err(Bad("a ref holds no `..`"));
    }
    if name.contains("@{") {
        return Err(Bad("a ref holds no `@{`"));
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err(Bad("a ref neither starts nor ends with `/` nor holds `//`"));
    }
    if name.ends_with('.') {
        return Err(Bad("a ref does not end with `.`"));
    }
    for component in name.split('/') {
        if component.starts_with('.') {
            return Err(Bad("no part of a ref starts with `.`"));
        }
        if component.ends_with(".lock") {
            return Err(Bad("no part of a ref ends with `.lock`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_code_is_listed_once_and_spelled_screaming_snake() {
        assert_eq!(specline_error_codes::check_codes::<TargetCode>(), Ok(()));
    }

    fn code(input: &str) -> &'static str {
        match Target::parse(input) {
            Ok(_) => "OK",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn any_userinfo_is_refused() {
        for url in [
            "https://ghp_TOKEN@github.com/o/r.git",
            "https://user:pass@host.example/r.git",
            "https://:pass@host.example/r.git",
            "https://@host.example/r.git",
            "ssh://git@host.example/o/r.git",
            "git+ssh://u@host.example/o/r.git",
            "HTTPS://tok@host.example/r",
            "git@github.com:o/r.git",
            "file://u@localhost/tmp/r",
        ] {
            assert_eq!(code(url), "CREDENTIALS_IN_URL", "{url}");
        }
        // `@` in the path is not userinfo.
        assert_eq!(code("https://host.example/o/r@v1.git"), "OK");
    }

    #[test]
    fn the_error_never_repeats_the_url() {
        let err = Target::parse("https://ghp_SECRET@github.com/o/r.git").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(!format!("{err:?}").contains("SECRET"), "{err:?}");
    }

    #[test]
    fn option_lookalikes_are_refused() {
        assert_eq!(code("--upload-pack=touch /tmp/x"), "TARGET_OPTION");
        assert_eq!(code("-oProxyCommand=x"), "TARGET_OPTION");
        assert_eq!(code("ssh://-oProxyCommand=touch%20x/r"), "TARGET_OPTION");
    }

    #[test]
    fn remote_helpers_and_other_schemes_are_refused() {
        assert_eq!(code("ext::sh -c touch% /tmp/pwned"), "UNSUPPORTED_SCHEME");
        assert_eq!(code("fd::3"), "UNSUPPORTED_SCHEME");
        assert_eq!(code("ftp://host.example/r.git"), "UNSUPPORTED_SCHEME");
        assert_eq!(code("javascript://x/y"), "UNSUPPORTED_SCHEME");
    }

    #[test]
    fn malformed_urls_are_refused() {
        for url in [
            "https:///r.git",
            "https://host.example:99999/r",
            "https://host.example/r?x=1",
            "https://host.example/r#frag",
            "https://ho st.example/r",
            "https://host.example/r\n",
            "https://[::1/r",
            "file://otherhost/tmp/r",
            "file://",
            "host.example:o/r.git",
            "",
        ] {
            assert_ne!(code(url), "OK", "{url:?}");
        }
    }

    #[test]
    fn ordinary_targets_are_accepted() {
        assert_eq!(
            Target::parse("https://github.com/o/r.git").unwrap(),
            Target::Git {
                url: "https://github.com/o/r.git".into(),
                scheme: "https".into()
            }
        );
        for ok in [
            "http://127.0.0.1:8080/r.git",
            "ssh://host.example:2222/o/r.git",
            "git://[::1]:9418/r.git",
            "file:///tmp/r.git",
            "file://localhost/tmp/r.git",
        ] {
            assert!(Target::parse(ok).unwrap().is_git(), "{ok}");
        }
        for local in ["./dir", "/abs/dir", "rel/dir", "C:/x", "dir with space"] {
            assert!(
                matches!(Target::parse(local), Ok(Target::Local(_))),
                "{local}"
            );
        }
    }

    #[test]
    fn refs_follow_git_check_ref_format() {
        for good in ["main", "release/1.2", "v1.0.0", "feature/a-b_c", "x@y"] {
            assert_eq!(check_ref(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-b",
            "--upload-pack=x",
            "@",
            "a..b",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a@{1}",
            "/a",
            "a/",
            "a//b",
            "a.",
            ".a",
            "a/.b",
            "a.lock",
            "a/b.lock/c",
            "a\u{7f}",
            "a\nb",
        ] {
            assert_eq!(
                check_ref(bad).map_err(|e| e.code()),
                Err("INVALID_REF"),
                "{bad:?}"
            );
        }
        assert!(check_ref(&"a".repeat(256)).is_err());
    }
}
