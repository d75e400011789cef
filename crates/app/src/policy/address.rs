//! Which IP addresses a repository host may resolve to.
//!
//! A repository URL is fetched by the analyzer from inside the deployment's network, so a
//! host that resolves to the analyzer's own loopback, a private range or a cloud metadata
//! endpoint would turn a submission into a request forgery against internal services. Every
//! address of a host is checked (not only the first), IPv4-mapped and other IPv6 forms that
//! embed an IPv4 address are checked as that IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A routable public address.
    Public,
    /// Loopback, private, link-local, CGNAT, unspecified, multicast, reserved or
    /// documentation ranges: refused unless the policy allows private addresses.
    NonPublic,
    /// A cloud metadata endpoint: refused always.
    Metadata,
}

/// Cloud metadata endpoints (AWS/GCP/Azure 169.254.169.254, Alibaba 100.100.100.200,
/// Azure's wire server 168.63.129.16) and AWS's IPv6 one (fd00:ec2::254).
fn is_metadata_v4(ip: Ipv4Addr) -> bool {
    matches!(
        ip.octets(),
        [169, 254, 169, 254] | [100, 100, 100, 200] | [168, 63, 129, 16]
    )
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    if is_metadata_v4(ip) {
        return AddressClass::Metadata;
    }
    let [a, b, c, _] = ip.octets();
    let non_public = ip.is_unspecified()
        || a == 0                                   // 0.0.0.0/8 "this network"
        || ip.is_loopback()                         // 127.0.0.0/8
        || ip.is_private()                          // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()                       // 169.254/16
        || (a == 100 && (64..128).contains(&b))     // 100.64/10 CGNAT
        || (a == 192 && b == 0 && c == 0)           // 192.0.0/24 IETF assignments
        || (a == 192 && b == 0 && c == 2)           // documentation
        || (a == 198 && (18..20).contains(&b))      // 198.18/15 benchmarking
        || (a == 198 && b == 51 && c == 100)        // documentation
        || (a == 203 && b == 0 && c == 113)         // documentation
        || ip.is_multicast()                        // 224/4
        || a >= 240; // 240/4 reserved, broadcast
    if non_public {
        AddressClass::NonPublic
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4
/// (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(tail());
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return AddressClass::Metadata;
    }
    let s0 = ip.segments()[0];
    let non_public = ip.is_unspecified()
        || ip.is_loopback()
        || (s0 & 0xfe00) == 0xfc00        // fc00::/7 unique local
        || (s0 & 0xffc0) == 0xfe80        // fe80::/10 link-local
        || (s0 & 0xffc0) == 0xfec0        // fec0::/10 site-local (deprecated)
        || ip.is_multicast()              // ff00::/8
        || (s0 == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (s0 == 0x2001 && ip.segments()[1] == 0)      // Teredo
        || (s0 == 0x0100 && ip.segments()[1..4] == [0, 0, 0]); // discard-only
    if non_public {
        AddressClass::NonPublic
    } else {
        AddressClass::Public
    }
}

/// The class of `ip`.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        classify(text.parse().expect("a test address"))
    }

    #[test]
    fn internal_ranges_are_not_public() {
        for a in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2001:db8::1",
        ] {
            assert_eq!(class(a), AddressClass::NonPublic, "{a}");
        }
    }

    #[test]
    fn metadata_endpoints_are_their_own_class() {
        for a in [
            "169.254.169.254",
            "100.100.100.200",
            "168.63.129.16",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
        ] {
            assert_eq!(class(a), AddressClass::Metadata, "{a}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for a in [
            "140.82.112.3",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert_eq!(class(a), AddressClass::Public, "{a}");
        }
    }
}
