//! Host name resolution for the policy, behind a trait so a test can say what a name
//! resolves to without touching the machine's resolver or network.

use std::collections::HashMap;
use std::net::IpAddr;

use async_trait::async_trait;

/// Resolves a host name to its addresses.
#[async_trait]
pub trait Resolve: Send + Sync + 'static {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo`, via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// A fixed table of names, for tests: a name not in it does not resolve.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    pub names: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn with(mut self, host: &str, addrs: &[IpAddr]) -> Self {
        self.names.insert(host.to_ascii_lowercase(), addrs.to_vec());
        self
    }
}

#[async_trait]
impl Resolve for StaticResolver {
    async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        self.names
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown host"))
    }
}
