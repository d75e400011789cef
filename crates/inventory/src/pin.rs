//! The addresses a repository host was checked at, handed to git so that it connects to
//! exactly those.
//!
//! A repository URL is checked before it is fetched (the application refuses hosts that
//! resolve to loopback, private or metadata addresses). If git then resolved the name again,
//! a host with a short-lived DNS record could answer the check with a public address and the
//! clone with an internal one (DNS rebinding). A [`Pin`] closes that window for `http` and
//! `https` URLs: git's HTTP transport is told, through curl's resolve list
//! (`http.curloptResolve`), which addresses the name has, and does no lookup of its own.
//! Redirects are never followed ([`crate::git`] sets `http.followRedirects=false`), so a
//! checked server cannot send git on to an unchecked one.
//!
//! `ssh://` and `git://` URLs are not pinned (their transports have no such option): a
//! deployment that accepts them from untrusted submitters relies on the check alone, which
//! is why `repository_policy.allowed_schemes` defaults to `https` only (docs/security.md).

use std::net::IpAddr;

/// A host name and port, and the addresses git must use for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    host: String,
    port: u16,
    addrs: Vec<IpAddr>,
}

impl Pin {
    /// `None` when there is nothing to pin: no address, or a host that is itself an
    /// address (git does no lookup for it), or a name curl's resolve list cannot carry.
    pub fn new(host: &str, port: u16, addrs: Vec<IpAddr>) -> Option<Pin> {
        let plain_name = !host.is_empty()
            && host.parse::<IpAddr>().is_err()
            && !host.starts_with('[')
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        (plain_name && !addrs.is_empty()).then(|| Pin {
            host: host.to_ascii_lowercase(),
            port,
            addrs,
        })
    }

    /// The `-c` override that pins the name: `http.curloptResolve=HOST:PORT:ADDR[,ADDR]`
    /// (IPv6 addresses in brackets, as curl reads them).
    pub(crate) fn git_override(&self) -> String {
        let addrs: Vec<String> = self
            .addrs
            .iter()
            .map(|a| match a {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            })
            .collect();
        format!(
            "http.curloptResolve={}:{}:{}",
            self.host,
            self.port,
            addrs.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_lists_every_address_with_ipv6_in_brackets() {
        let pin = Pin::new(
            "Git.Example.org",
            443,
            vec!["192.0.2.7".parse().unwrap(), "2001:db8::1".parse().unwrap()],
        )
        .unwrap();
        assert_eq!(
            pin.git_override(),
            "http.curloptResolve=git.example.org:443:192.0.2.7,[2001:db8::1]"
        );
    }

    #[test]
    fn nothing_is_pinned_for_an_address_host_no_address_or_an_odd_name() {
        let one = vec!["192.0.2.7".parse().unwrap()];
        assert_eq!(Pin::new("192.0.2.7", 443, one.clone()), None);
        assert_eq!(Pin::new("[2001:db8::1]", 443, one.clone()), None);
        assert_eq!(Pin::new("example.org", 443, vec![]), None);
        assert_eq!(Pin::new("exa:mple.org", 443, one.clone()), None);
        assert_eq!(Pin::new("exa,mple.org", 443, one), None);
    }
}
