//! The API's configuration, parsed once from `[api]`.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use specline_settings::{ApiAuth, ApiSection};

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    Tokens,
    Gateway {
        /// Lowercase header name.
        owner_header: String,
        trusted: Vec<IpNet>,
    },
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub auth: AuthMode,
    pub max_body_bytes: usize,
    pub submissions_per_minute: u32,
    pub max_streams_per_owner: usize,
    pub request_timeout: Duration,
    pub heartbeat: Duration,
    /// Events buffered per run for its subscribers; a subscriber further behind reads
    /// the rest back from the database instead of holding memory.
    pub stream_buffer: usize,
}

impl ApiConfig {
    /// From `[api]`; fails naming the key when a proxy address does not parse.
    pub fn from_settings(s: &ApiSection) -> Result<ApiConfig, ConfigError> {
        let auth = match s.auth {
            ApiAuth::Tokens => AuthMode::Tokens,
            ApiAuth::Gateway => AuthMode::Gateway {
                owner_header: s.gateway_owner_header.to_ascii_lowercase(),
                trusted: parse_proxies(s.gateway_trusted_proxies.as_deref().unwrap_or(""))?,
            },
        };
        Ok(ApiConfig {
            auth,
            max_body_bytes: s.max_body_bytes,
            submissions_per_minute: s.submissions_per_minute,
            max_streams_per_owner: s.max_streams_per_owner,
            request_timeout: s.request_timeout(),
            heartbeat: s.heartbeat(),
            stream_buffer: 256,
        })
    }
}

/// A setting the API cannot use, naming the key.
#[derive(Debug, thiserror::Error)]
#[error("SETTINGS_INVALID: {0}")]
pub struct ConfigError(pub String);

fn parse_proxies(text: &str) -> Result<Vec<IpNet>, ConfigError> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let net = match item.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                ConfigError(format!(
                    "api.gateway_trusted_proxies: `{item}` is neither an address nor a CIDR range"
                ))
            })?,
        };
        out.push(net);
    }
    if out.is_empty() {
        return Err(ConfigError(
            "api.gateway_trusted_proxies names no proxy".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_parse_as_addresses_or_ranges_and_garbage_is_named() {
        let nets = parse_proxies("10.0.0.0/8, 127.0.0.1 ,::1").unwrap_or_default();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(
            &"127.0.0.1"
                .parse::<IpAddr>()
                .unwrap_or(IpAddr::from([0; 4]))
        ));
        let e = parse_proxies("10.0.0.0/8,nope")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("`nope`")));
    }
}
