//! Trusted proxies (`TRUSTED_PROXIES`: addresses and CIDR networks) and
//! the client address they vouch for: walking `X-Forwarded-For` from the
//! right, starting at the peer, the first hop that is not a trusted proxy
//! is the client. The leftmost hops are whatever the client wrote, so they
//! are never believed on their own.
//!
//! A leaf: parsing and the walk only. It never reads a header other than
//! `X-Forwarded-For` and never decides what a client may do.

use std::fmt;
use std::net::IpAddr;

use http::HeaderMap;

/// One trusted network: an address and how many leading bits must match.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR network"))?;
        let address = canonical(address);
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { address, prefix })
    }

    fn contains(&self, address: IpAddr) -> bool {
        let bits = |address: IpAddr| -> u128 {
            match address {
                IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        if self.address.is_ipv4() != address.is_ipv4() {
            return false;
        }
        if self.prefix == 0 {
            return true;
        }
        let shift = 128 - u32::from(self.prefix);
        bits(self.address) >> shift == bits(address) >> shift
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = if self.address.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.address)
        } else {
            write!(f, "{}/{}", self.address, self.prefix)
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is the IPv4 address.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The proxies whose `X-Forwarded-For` and `X-Request-Id` are believed.
/// Empty (the default): nobody's; the peer is the client.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// A comma-separated list of addresses and CIDR networks; blank = none.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(Network::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|network| network.contains(address))
    }

    /// The client's address: the peer, unless it is a trusted proxy; then
    /// the rightmost `X-Forwarded-For` hop that is not one (or the leftmost
    /// hop when every hop is trusted). A hop that is not an address stops
    /// the walk at the last address believed.
    pub fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = canonical(peer?);
        if !self.trusts(client) {
            return Some(client);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.into_iter().rev() {
            let Ok(address) = hop.parse::<IpAddr>() else {
                break;
            };
            client = canonical(address);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(ToString::to_string))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use http::HeaderValue;

    use super::*;

    fn client(proxies: &str, peer: &str, forwarded: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        TrustedProxies::parse(proxies)
            .unwrap()
            .client_address(Some(peer.parse().unwrap()), &headers)
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        // Nobody trusted: the peer, whatever the header says.
        assert_eq!(client("", "203.0.113.7", &["1.2.3.4"]), "203.0.113.7");
        // An untrusted peer's header is ignored.
        assert_eq!(
            client("10.0.0.1", "203.0.113.7", &["1.2.3.4"]),
            "203.0.113.7"
        );
        // Through a trusted proxy: what it appended, not what the client wrote.
        assert_eq!(
            client("10.0.0.1", "10.0.0.1", &["spoofed, 1.2.3.4, 198.51.100.2"]),
            "198.51.100.2"
        );
        // Two trusted proxies, and the header split over two lines.
        assert_eq!(
            client(
                "10.0.0.0/24",
                "10.0.0.1",
                &["6.6.6.6, 198.51.100.2", "10.0.0.9"]
            ),
            "198.51.100.2"
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.1", &["10.1.1.1, 10.0.0.2"]),
            "10.1.1.1"
        );
        // No header: the proxy itself.
        assert_eq!(client("10.0.0.1", "10.0.0.1", &[]), "10.0.0.1");
        // Garbage stops the walk at the last believed address.
        assert_eq!(
            client("10.0.0.1", "10.0.0.1", &["1.1.1.1, junk"]),
            "10.0.0.1"
        );
        // IPv6 networks and IPv4-mapped peers.
        assert_eq!(
            client("2001:db8::/32", "2001:db8::5", &["2001:db9::1"]),
            "2001:db9::1"
        );
        assert_eq!(
            client("10.0.0.1", "::ffff:10.0.0.1", &["1.2.3.4"]),
            "1.2.3.4"
        );
    }

    #[test]
    fn parsing_refuses_what_is_not_a_network() {
        assert_eq!(
            TrustedProxies::parse(" ").unwrap(),
            TrustedProxies::default()
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("storefront").is_err());
        let parsed = TrustedProxies::parse("10.0.0.0/8, ::1, 192.168.1.7/32").unwrap();
        assert_eq!(
            format!("{parsed:?}"),
            r#"["10.0.0.0/8", "::1", "192.168.1.7"]"#
        );
        assert!(parsed.trusts("10.200.1.1".parse().unwrap()));
        assert!(!parsed.trusts("11.0.0.1".parse().unwrap()));
    }
}
