//! Where a call comes from. The TCP peer is the caller, unless it is a proxy the operator trusts
//! (`--trusted-proxy`): then the client is read from the forwarding header that proxy writes
//! (`X-Forwarded-For`, or RFC 7239 `Forwarded`), from the right, passing over the trusted
//! proxies in the chain. Entries left of the first untrusted one were written by whoever sent the
//! call and are never read, so a caller cannot choose the address it is limited and audited by.
//! The client found here is what per-address limits and sign-in throttling key on
//! ([`Peer::address_key`]) and what the audit trail records ([`Peer`]'s `Display`).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

use super::throttle::address_key;

/// Entries of a forwarding header read at most (from the right). A real chain has a few hops; a
/// longer one is treated as malformed, so a huge header costs a bounded walk and no allocation.
pub const MAX_HOPS: usize = 16;

/// The header trusted proxies write the client's address into. Only one is read: a proxy that
/// writes one header passes the other through as the caller sent it, so believing both would
/// let a caller choose its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, Envoy, Caddy, Traefik, HAProxy's
    /// `option forwardfor`).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:443"` (HAProxy's `option forwarded`).
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// The proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Proxies in `networks`, writing `header`; no networks trusts no proxy.
    pub fn new(networks: Vec<IpNet>, header: ForwardedHeader) -> Self {
        Self { networks, header }
    }

    /// The trusted networks.
    pub fn networks(&self) -> &[IpNet] {
        &self.networks
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|n| n.contains(&ip))
    }

    /// The client a call from `tcp` was forwarded for: the right-most address in the forwarding
    /// header that is not itself a trusted proxy (the left-most when all are). `None` when `tcp`
    /// is not trusted, sent no header, or sent one that does not parse (an entry that is not an
    /// address, more than [`MAX_HOPS`] entries): the call is then the TCP peer's own.
    pub fn forwarded_client(&self, tcp: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        if !self.trusts(tcp) {
            return None;
        }
        let mut walked = 0;
        let mut leftmost_trusted = None;
        // Several header lines form one list, in order: the last line holds the nearest hops.
        for value in headers.get_all(self.header.name()).iter().rev() {
            for entry in value.to_str().ok()?.rsplit(',') {
                walked += 1;
                if walked > MAX_HOPS {
                    return None;
                }
                let entry = entry.trim();
                // Lists may hold empty elements (RFC 9110, 5.6.1); they name no hop.
                if entry.is_empty() {
                    continue;
                }
                let ip = match self.header {
                    ForwardedHeader::XForwardedFor => node(entry),
                    ForwardedHeader::Forwarded => forwarded_for(entry),
                }?
                .to_canonical();
                if !self.trusts(ip) {
                    return Some(ip);
                }
                leftmost_trusted = Some(ip);
            }
        }
        leftmost_trusted
    }
}

/// The `for=` node of one RFC 7239 element (`for=192.0.2.60;proto=https;by=203.0.113.43`).
/// Elements and pairs are split at every `,` and `;`: a quoted one splits wrongly, but no
/// address contains either, so at worst an entry becomes malformed, never a different address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })?;
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
    node(value)
}

/// An address as forwarding headers write it: `192.0.2.7`, `192.0.2.7:5000`, `2001:db8::7`,
/// `[2001:db8::7]` or `[2001:db8::7]:5000`. Obfuscated and `unknown` nodes are not addresses.
fn node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Some(address.ip());
    }
    text.strip_prefix('[')?.strip_suffix(']')?.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// Where a call came from, as the guard saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The TCP peer (IPv4-mapped IPv6 addresses written as IPv4); `None` if the transport did
    /// not say.
    pub tcp: Option<SocketAddr>,
    /// The client a trusted proxy forwarded the call for.
    pub forwarded_for: Option<IpAddr>,
}

impl Peer {
    /// The peer of a call that came from `tcp` with `headers`.
    pub fn new(tcp: Option<SocketAddr>, headers: &HeaderMap, proxies: &TrustedProxies) -> Self {
        let tcp = tcp.map(|a| SocketAddr::new(a.ip().to_canonical(), a.port()));
        let forwarded_for = tcp.and_then(|a| proxies.forwarded_client(a.ip(), headers));
        Self { tcp, forwarded_for }
    }

    /// The caller's address: the client a trusted proxy forwarded for, else the TCP peer's.
    pub fn client(&self) -> Option<IpAddr> {
        self.forwarded_for.or(self.tcp.map(|a| a.ip()))
    }

    /// The key per-address limits count the caller by ([`address_key`] of [`Peer::client`]);
    /// `unknown` when the transport gave no address.
    pub fn address_key(&self) -> String {
        self.client().map_or_else(|| "unknown".to_owned(), address_key)
    }
}

/// As the audit trail records it: `203.0.113.7 via 10.0.0.2:41234` for a forwarded call (the
/// client, then the proxy that sent it), `198.51.100.4:52311` for a direct one.
impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.forwarded_for, self.tcp) {
            (Some(client), Some(proxy)) => write!(f, "{client} via {proxy}"),
            (_, Some(tcp)) => write!(f, "{tcp}"),
            (_, None) => f.write_str("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn proxies(networks: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::new(networks.iter().map(|n| n.parse().unwrap()).collect(), header)
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_an_untrusted_peer_does_not() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["203.0.113.7"]);
        assert_eq!(trusted.forwarded_client(ip("10.0.0.2"), &h), Some(ip("203.0.113.7")));
        assert_eq!(trusted.forwarded_client(ip("192.0.2.1"), &h), None, "not a trusted proxy");
        assert_eq!(TrustedProxies::default().forwarded_client(ip("10.0.0.2"), &h), None, "no proxy trusted");
        assert_eq!(trusted.forwarded_client(ip("10.0.0.2"), &HeaderMap::new()), None, "no header");
        // A dual-stack listener sees the proxy as ::ffff:10.0.0.2; it is still the IPv4 proxy.
        assert_eq!(trusted.forwarded_client(ip("::ffff:10.0.0.2"), &h), Some(ip("203.0.113.7")));
    }

    #[test]
    fn the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() {
        let trusted = proxies(&["10.0.0.0/8", "2001:db8:ffff::/48"], ForwardedHeader::XForwardedFor);
        let from = |values: &[&str]| trusted.forwarded_client(ip("10.0.0.2"), &headers("x-forwarded-for", values));
        // The caller wrote the left-most entries; the proxies appended the rest.
        assert_eq!(from(&["1.1.1.1, 203.0.113.7"]), Some(ip("203.0.113.7")));
        assert_eq!(from(&["10.9.9.9, 203.0.113.7, 10.0.0.5"]), Some(ip("203.0.113.7")), "a spoofed trusted entry");
        assert_eq!(from(&["1.1.1.1", "203.0.113.7, 10.0.0.5"]), Some(ip("203.0.113.7")), "two header lines");
        assert_eq!(from(&["10.0.0.9, 10.0.0.5"]), Some(ip("10.0.0.9")), "all trusted: the left-most");
        // IPv6, with and without brackets and ports; IPv4-mapped entries are IPv4.
        assert_eq!(from(&["2001:db8::7, 2001:db8:ffff::1"]), Some(ip("2001:db8::7")));
        assert_eq!(from(&["[2001:db8::7]:4711"]), Some(ip("2001:db8::7")));
        assert_eq!(from(&["203.0.113.7:5000, "]), Some(ip("203.0.113.7")));
        assert_eq!(from(&["::ffff:203.0.113.7"]), Some(ip("203.0.113.7")));
        // Garbage the caller put left of its own entry is never read.
        assert_eq!(from(&["<script>, unknown, 203.0.113.7"]), Some(ip("203.0.113.7")));
    }

    #[test]
    fn a_malformed_or_endless_header_falls_back_to_the_tcp_peer() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let from = |values: &[&str]| trusted.forwarded_client(ip("10.0.0.2"), &headers("x-forwarded-for", values));
        assert_eq!(from(&["unknown"]), None);
        assert_eq!(from(&["203.0.113.7, garbage"]), None);
        assert_eq!(from(&["fe80::1%eth0"]), None);
        assert_eq!(from(&[""]), None);
        let mut opaque = HeaderMap::new();
        opaque.insert("x-forwarded-for", HeaderValue::from_bytes(b"203.0.113.\xff").unwrap());
        assert_eq!(trusted.forwarded_client(ip("10.0.0.2"), &opaque), None, "not text");
        // A long chain of trusted hops is not walked past MAX_HOPS.
        let hops = vec!["10.0.0.1"; MAX_HOPS];
        assert_eq!(from(&[&format!("203.0.113.7, {}", hops.join(", "))]), None);
        assert_eq!(from(&[&format!("203.0.113.7, {}", hops[1..].join(", "))]), Some(ip("203.0.113.7")));
        let huge = format!("{}203.0.113.7", "1.2.3.4, ".repeat(100_000));
        assert_eq!(from(&[&huge]), Some(ip("203.0.113.7")), "an untrusted right-most entry ends the walk");
        let huge = format!("203.0.113.7{}", ", 10.0.0.1".repeat(100_000));
        assert_eq!(from(&[&huge]), None);
    }

    #[test]
    fn rfc_7239_forwarded_is_read_when_configured_and_only_then() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let from = |values: &[&str]| trusted.forwarded_client(ip("10.0.0.2"), &headers("forwarded", values));
        assert_eq!(from(&["for=203.0.113.7"]), Some(ip("203.0.113.7")));
        assert_eq!(from(&["for=1.1.1.1, For=\"203.0.113.7:5000\";proto=https"]), Some(ip("203.0.113.7")));
        assert_eq!(from(&["proto=https;for=\"[2001:db8::7]:4711\";by=10.0.0.2"]), Some(ip("2001:db8::7")));
        assert_eq!(from(&["for=\"[2001:db8::7]\", for=10.0.0.5"]), Some(ip("2001:db8::7")));
        assert_eq!(from(&["for=unknown"]), None);
        assert_eq!(from(&["for=_hidden"]), None);
        assert_eq!(from(&["proto=https"]), None, "an element without for=");
        assert_eq!(from(&["for=\"203.0.113.7"]), None, "an unclosed quote");
        // The header not configured is the caller's own: ignored, both ways.
        let mut both = headers("forwarded", &["for=203.0.113.7"]);
        both.append("x-forwarded-for", HeaderValue::from_static("198.51.100.9"));
        assert_eq!(trusted.forwarded_client(ip("10.0.0.2"), &both), Some(ip("203.0.113.7")));
        let xff = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        assert_eq!(xff.forwarded_client(ip("10.0.0.2"), &both), Some(ip("198.51.100.9")));
    }

    #[test]
    fn a_peer_is_keyed_and_recorded_by_its_real_client() {
        let trusted = proxies(&["127.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["203.0.113.7"]);
        let proxy: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let forwarded = Peer::new(Some(proxy), &h, &trusted);
        assert_eq!(forwarded.to_string(), "203.0.113.7 via 127.0.0.1:5555");
        assert_eq!(forwarded.address_key(), "203.0.113.7");
        let direct = Peer::new(Some("192.0.2.1:5555".parse().unwrap()), &h, &trusted);
        assert_eq!((direct.to_string(), direct.address_key()), ("192.0.2.1:5555".to_owned(), "192.0.2.1".to_owned()));
        let mapped = Peer::new(Some("[::ffff:192.0.2.1]:5555".parse().unwrap()), &h, &TrustedProxies::default());
        assert_eq!((mapped.to_string(), mapped.address_key()), ("192.0.2.1:5555".to_owned(), "192.0.2.1".to_owned()));
        let six = Peer::new(Some("[2001:db8:1:2::7]:443".parse().unwrap()), &h, &trusted);
        assert_eq!(six.address_key(), "2001:db8:1:2::/64");
        let nowhere = Peer::new(None, &h, &trusted);
        assert_eq!((nowhere.to_string(), nowhere.address_key()), ("unknown".to_owned(), "unknown".to_owned()));
    }
}
