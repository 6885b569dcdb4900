//! Sets of IP networks, such as the trusted front-proxy CIDRs that may send `X-Forwarded-Client-Cert`.
//!
//! Parsing follows Go's `net.ParseCIDR` (host bits after the prefix are masked off, the prefix length may have
//! leading zeros) and also accepts a bare address as a single-host network. Membership follows Go's
//! `IPNet.Contains`: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is treated as the IPv4 address, both when
//! parsing a network and when testing an address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A set of IPv4 and IPv6 networks with precomputed masks; [`CidrSet::contains`] does not allocate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrSet {
    /// `(network, mask)` pairs; the network has no bits outside the mask.
    v4: Vec<(u32, u32)>,
    /// `(network, mask)` pairs; the network has no bits outside the mask.
    v6: Vec<(u128, u128)>,
}

/// A CIDR list item that is not an IP address or an `address/prefix` network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR {item:?}: {reason}")]
pub struct CidrError {
    item: String,
    reason: &'static str,
}

impl CidrError {
    /// The rejected item, as given.
    pub fn item(&self) -> &str {
        &self.item
    }
}

// === impl CidrSet ===

impl CidrSet {
    /// Parses networks such as `10.0.0.0/8` or `::1/128`, and bare addresses as `/32` or `/128`.
    ///
    /// Surrounding whitespace of an item is ignored; an empty item is an error.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, CidrError> {
        let mut set = Self::default();
        for item in items {
            let item = item.as_ref();
            let (addr, prefix) = parse_item(item.trim()).map_err(|reason| CidrError {
                item: item.to_owned(),
                reason,
            })?;
            match canonical_network(addr, prefix) {
                (IpAddr::V4(net), prefix) => {
                    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                    let net = (u32::from(net) & mask, mask);
                    if !set.v4.contains(&net) {
                        set.v4.push(net);
                    }
                }
                (IpAddr::V6(net), prefix) => {
                    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                    let net = (u128::from(net) & mask, mask);
                    if !set.v6.contains(&net) {
                        set.v6.push(net);
                    }
                }
            }
        }
        Ok(set)
    }

    /// Whether the set holds no network at all.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` is in one of the networks; `::ffff:a.b.c.d` is tested as `a.b.c.d`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.contains_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.contains_v4(v4),
                None => {
                    let ip = u128::from(v6);
                    self.v6.iter().any(|&(net, mask)| ip & mask == net)
                }
            },
        }
    }

    fn contains_v4(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        self.v4.iter().any(|&(net, mask)| ip & mask == net)
    }
}

/// Splits `address[/prefix]` and checks the prefix length against the address family.
fn parse_item(item: &str) -> Result<(IpAddr, u32), &'static str> {
    if item.is_empty() {
        return Err("empty item");
    }
    let (addr, prefix) = match item.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (item, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| "not an IP address")?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(prefix) => {
            if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                return Err("prefix length is not a number");
            }
            // Leading zeros are allowed, as in Go; anything over `max` (or too long to parse) is rejected.
            match prefix.parse::<u32>() {
                Ok(prefix) if prefix <= max => prefix,
                _ => return Err("prefix length out of range"),
            }
        }
    };
    Ok((addr, prefix))
}

/// Turns a network inside `::ffff:0:0/96` (after masking) into the IPv4 network Go's `IPNet.Contains` uses.
fn canonical_network(addr: IpAddr, prefix: u32) -> (IpAddr, u32) {
    let IpAddr::V6(v6) = addr else {
        return (addr, prefix);
    };
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    match Ipv6Addr::from(u128::from(v6) & mask).to_ipv4_mapped() {
        Some(v4) => (IpAddr::V4(v4), prefix.saturating_sub(96)),
        None => (addr, prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn set(items: &[&str]) -> CidrSet {
        CidrSet::parse(items).unwrap()
    }

    #[test]
    fn ipv4_networks() {
        let s = set(&["10.0.0.0/8", "192.168.1.0/24"]);
        assert!(s.contains(ip("10.0.0.0")));
        assert!(s.contains(ip("10.255.255.255")));
        assert!(s.contains(ip("192.168.1.7")));
        assert!(!s.contains(ip("11.0.0.1")));
        assert!(!s.contains(ip("192.168.2.1")));
        assert!(!s.contains(ip("::1")));
    }

    #[test]
    fn ipv6_networks() {
        let s = set(&["::1/128", "fd00::/8"]);
        assert!(s.contains(ip("::1")));
        assert!(s.contains(ip("fd12:3456::1")));
        assert!(!s.contains(ip("::2")));
        assert!(!s.contains(ip("fe80::1")));
        assert!(!s.contains(ip("127.0.0.1")));
    }

    #[test]
    fn bare_addresses_are_single_hosts() {
        let s = set(&["10.1.2.3", "2001:db8::7"]);
        assert!(s.contains(ip("10.1.2.3")));
        assert!(!s.contains(ip("10.1.2.4")));
        assert!(s.contains(ip("2001:db8::7")));
        assert!(!s.contains(ip("2001:db8::8")));
    }

    #[test]
    fn zero_prefix_matches_whole_family() {
        let s = set(&["0.0.0.0/0"]);
        assert!(s.contains(ip("1.2.3.4")));
        assert!(s.contains(ip("::ffff:1.2.3.4")));
        assert!(!s.contains(ip("::1")));
        let s = set(&["::/0"]);
        assert!(s.contains(ip("2001:db8::1")));
        assert!(!s.contains(ip("1.2.3.4")), "as in Go, ::/0 holds no IPv4 address");
    }

    #[test]
    fn host_bits_are_masked_like_go() {
        let s = set(&["10.1.2.3/8", "2001:db8::ffff/32"]);
        assert!(s.contains(ip("10.200.0.1")));
        assert!(s.contains(ip("2001:db8:1::")));
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let s = set(&["10.0.0.0/8"]);
        assert!(s.contains(ip("::ffff:10.1.2.3")));
        assert!(!s.contains(ip("::ffff:11.1.2.3")));
        assert!(
            !s.contains(ip("::10.1.2.3")),
            "IPv4-compatible addresses are not mapped"
        );
        let s = set(&["::ffff:10.0.0.0/104"]);
        assert!(s.contains(ip("10.9.9.9")));
        assert!(s.contains(ip("::ffff:10.9.9.9")));
        assert!(!s.contains(ip("11.0.0.0")));
        assert_eq!(set(&["::ffff:10.0.0.0/104"]), set(&["10.0.0.0/8"]));
        assert_eq!(set(&["::ffff:1.2.3.4"]), set(&["1.2.3.4/32"]));
    }

    #[test]
    fn leading_zeros_and_whitespace() {
        assert_eq!(set(&["10.0.0.0/008"]), set(&["10.0.0.0/8"]));
        assert_eq!(set(&[" 10.0.0.0/8\t"]), set(&["10.0.0.0/8"]));
    }

    #[test]
    fn duplicates_are_merged() {
        assert_eq!(set(&["10.0.0.0/8", "10.1.0.0/8"]), set(&["10.0.0.0/8"]));
    }

    #[test]
    fn empty() {
        let s = CidrSet::parse::<&str>(&[]).unwrap();
        assert!(s.is_empty());
        assert!(!s.contains(ip("127.0.0.1")));
        assert!(!set(&["::1"]).is_empty());
        assert!(!set(&["127.0.0.1"]).is_empty());
        assert!(CidrSet::default().is_empty());
    }

    #[test]
    fn owned_strings() {
        let items = vec!["10.0.0.0/8".to_owned()];
        assert!(CidrSet::parse(&items).unwrap().contains(ip("10.0.0.1")));
    }

    #[test]
    fn rejections_name_the_item() {
        let cases = [
            ("", "empty item"),
            ("  ", "empty item"),
            ("10.0.0.0/33", "prefix length out of range"),
            ("::/129", "prefix length out of range"),
            ("10.0.0.0/99999999999999999999", "prefix length out of range"),
            ("10.0.0.0/", "prefix length is not a number"),
            ("10.0.0.0/+8", "prefix length is not a number"),
            ("10.0.0.0/-1", "prefix length is not a number"),
            ("10.0.0.0/8/8", "prefix length is not a number"),
            ("10.0.0.0/ 8", "prefix length is not a number"),
            ("10.0.0/8", "not an IP address"),
            ("010.0.0.0/8", "not an IP address"),
            ("fe80::1%eth0/64", "not an IP address"),
            ("example.com", "not an IP address"),
            ("/8", "not an IP address"),
        ];
        for (item, reason) in cases {
            let err = CidrSet::parse(&["10.0.0.0/8", item]).unwrap_err();
            assert_eq!(err.item(), item);
            assert_eq!(err.to_string(), format!("invalid CIDR {item:?}: {reason}"));
        }
    }

    /// Bit-by-bit reference: the first `prefix` bits of `net` and `ip` agree.
    fn naive_contains(net: &[u8], prefix: u32, ip: &[u8]) -> bool {
        net.len() == ip.len()
            && (0..prefix as usize).all(|bit| {
                let (byte, shift) = (bit / 8, 7 - bit % 8);
                (net[byte] >> shift) & 1 == (ip[byte] >> shift) & 1
            })
    }

    proptest! {
        #[test]
        fn v4_matches_reference(net: [u8; 4], prefix in 0u32..=32, ip: [u8; 4], near in any::<bool>()) {
            // Half the time, pick an address that shares the network's first bytes so hits are common.
            let ip = if near { [net[0], net[1], ip[2], ip[3]] } else { ip };
            let s = CidrSet::parse(&[format!("{}/{prefix}", Ipv4Addr::from(net))]).unwrap();
            let want = naive_contains(&net, prefix, &ip);
            prop_assert_eq!(s.contains(IpAddr::V4(Ipv4Addr::from(ip))), want);
            prop_assert_eq!(s.contains(IpAddr::V6(Ipv4Addr::from(ip).to_ipv6_mapped())), want);
        }

        #[test]
        fn v6_matches_reference(net: [u8; 16], prefix in 0u32..=128, ip: [u8; 16], shared in 0usize..=16) {
            let mut ip = ip;
            ip[..shared].copy_from_slice(&net[..shared]);
            let net_addr = Ipv6Addr::from(net);
            let ip_addr = Ipv6Addr::from(ip);
            prop_assume!(net_addr.to_ipv4_mapped().is_none() && ip_addr.to_ipv4_mapped().is_none());
            let s = CidrSet::parse(&[format!("{net_addr}/{prefix}")]).unwrap();
            let masked = u128::from(net_addr) & u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            prop_assume!(Ipv6Addr::from(masked).to_ipv4_mapped().is_none());
            prop_assert_eq!(s.contains(IpAddr::V6(ip_addr)), naive_contains(&net, prefix, &ip));
        }

        #[test]
        fn set_is_union_of_members(nets in proptest::collection::vec((any::<[u8; 4]>(), 0u32..=32), 0..8), ip: [u8; 4]) {
            let items: Vec<String> = nets.iter().map(|(n, p)| format!("{}/{p}", Ipv4Addr::from(*n))).collect();
            let s = CidrSet::parse(&items).unwrap();
            let want = nets.iter().any(|(n, p)| naive_contains(n, *p, &ip));
            prop_assert_eq!(s.contains(IpAddr::V4(Ipv4Addr::from(ip))), want);
        }

        #[test]
        fn parse_never_panics(item in "\\PC{0,48}") {
            let _ = CidrSet::parse(&[item]);
        }
    }
}
