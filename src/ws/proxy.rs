//! Behind a reverse proxy: trusted-proxy CIDRs, the client address from `X-Forwarded-For` or
//! `Forwarded` as nginx's realip module finds it (`real_ip_recursive on`: the rightmost address
//! that is not a trusted proxy), and the PROXY protocol v1/v2 header (strictly bounded).
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An address block, e.g. `10.0.0.0/8` or `::1/128` (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `addr[/bits]`; the host bits must be zero (`10.0.0.1/8` is refused as a typo).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| format!("{s}: not an IP address"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("{s}: prefix length must be 0 to {max}"))?,
        };
        let c = Cidr { net, bits };
        if c.masked(net) != net {
            return Err(format!("{s}: address has bits set beyond /{bits}"));
        }
        Ok(c)
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let m = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
            }
            IpAddr::V6(v6) => {
                let m = u128::MAX.checked_shl(128 - u32::from(self.bits)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & m))
            }
        }
    }

    /// Whether `ip` is in this block (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.net.is_ipv4() && self.masked(ip) == self.net
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.bits)
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; anything else unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses a comma list of CIDRs (empty: trust nobody).
pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(Cidr::parse).collect()
}

/// Whether `ip` is a trusted proxy.
pub fn trusted(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|c| c.contains(ip))
}

/// Which request header carries the client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx `$proxy_add_x_forwarded_for`, HAProxy
    /// `option forwardfor`).
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// The client address of a request from `peer`: `peer` itself unless it is trusted; otherwise
/// walk the chosen header from the right, skipping trusted proxies, and take the first address
/// that is not one (all trusted: the leftmost). Missing header: `peer`. A malformed entry stops
/// the walk at the last good address (nginx does the same), so junk cannot pick the address.
pub fn client_addr(
    peer: IpAddr,
    trusted_list: &[Cidr],
    header: ForwardedHeader,
    values: &[&str],
) -> IpAddr {
    if !trusted(trusted_list, peer) {
        return peer;
    }
    let entries: Vec<&str> = values.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut current = peer;
    for entry in entries.iter().rev() {
        let parsed = match header {
            ForwardedHeader::XForwardedFor => parse_node(entry),
            ForwardedHeader::Forwarded => forwarded_for(entry).and_then(parse_node),
        };
        let Some(ip) = parsed else { return current };
        current = ip;
        if !trusted(trusted_list, ip) {
            return ip;
        }
    }
    current
}

/// The `for=` value of one `Forwarded` element (`for=1.2.3.4;proto=https`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then(|| v.trim().trim_matches('"'))
    })
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if s.len() > 64 {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.parse::<Ipv6Addr>().ok().map(|a| canonical(IpAddr::V6(a)));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    s.parse::<SocketAddr>().ok().map(|a| canonical(a.ip()))
}

/// What a PROXY protocol header said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyHeader {
    /// The original client (source) address.
    Client(SocketAddr),
    /// `LOCAL` (v2) or `UNKNOWN` (v1): a health check by the proxy itself; keep the peer.
    Local,
}

/// Why a PROXY header was refused (the connection is dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyError(pub &'static str);

/// The v2 signature.
const V2_SIG: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// Longest v1 line (the spec's 107 bytes, CRLF included).
const V1_MAX: usize = 107;
/// Longest v2 header we take (16 + addresses + TLVs); HAProxy's own limit is similar.
pub const V2_MAX: usize = 16 + 1024;

/// Parses a PROXY header at the start of `buf`: `Ok(None)` = need more bytes,
/// `Ok(Some((header, used)))`, or an error for anything that is not a valid header.
pub fn parse_proxy(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let n = buf.len().min(V2_SIG.len());
    if buf[..n] == V2_SIG[..n] {
        return if buf.len() < 16 { Ok(None) } else { parse_v2(buf) };
    }
    let n = buf.len().min(6);
    if buf[..n] == b"PROXY "[..n] {
        return parse_v1(buf);
    }
    Err(ProxyError("no PROXY protocol header"))
}

fn parse_v1(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let Some(end) = buf.windows(2).take(V1_MAX - 1).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX { Err(ProxyError("v1 line too long")) } else { Ok(None) };
    };
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| ProxyError("v1 not ASCII"))?;
    let parts: Vec<&str> = line.split(' ').collect();
    let used = end + 2;
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(Some((ProxyHeader::Local, used))),
        ["PROXY", proto, src, dst, sport, dport] => {
            let v4 = match *proto {
                "TCP4" => true,
                "TCP6" => false,
                _ => return Err(ProxyError("v1 protocol")),
            };
            let src: IpAddr = src.parse().map_err(|_| ProxyError("v1 source address"))?;
            let dst: IpAddr = dst.parse().map_err(|_| ProxyError("v1 destination address"))?;
            if src.is_ipv4() != v4 || dst.is_ipv4() != v4 {
                return Err(ProxyError("v1 address family"));
            }
            let port = |p: &str| {
                let ok = !p.is_empty() && p.len() <= 5 && !(p.len() > 1 && p.starts_with('0'));
                p.parse::<u16>().ok().filter(|_| ok).ok_or(ProxyError("v1 port"))
            };
            let sport = port(sport)?;
            port(dport)?;
            Ok(Some((ProxyHeader::Client(SocketAddr::new(canonical(src), sport)), used)))
        }
        _ => Err(ProxyError("v1 syntax")),
    }
}

fn parse_v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let ver_cmd = buf[12];
    let fam = buf[13];
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError("v2 version"));
    }
    if 16 + len > V2_MAX {
        return Err(ProxyError("v2 header too long"));
    }
    if buf.len() < 16 + len {
        return Ok(None);
    }
    let used = 16 + len;
    let body = &buf[16..used];
    match ver_cmd & 0x0f {
        0x0 => return Ok(Some((ProxyHeader::Local, used))),
        0x1 => {}
        _ => return Err(ProxyError("v2 command")),
    }
    // Only TCP (STREAM) over IPv4 or IPv6 carries a client address we use; UNSPEC/UNIX/UDP
    // are treated like LOCAL (the spec says to accept them and use the real connection).
    match fam {
        0x11 if len >= 12 => {
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            let port = u16::from_be_bytes([body[8], body[9]]);
            Ok(Some((ProxyHeader::Client(SocketAddr::new(IpAddr::V4(ip), port)), used)))
        }
        0x21 if len >= 36 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&body[..16]);
            let ip = canonical(IpAddr::V6(Ipv6Addr::from(a)));
            let port = u16::from_be_bytes([body[32], body[33]]);
            Ok(Some((ProxyHeader::Client(SocketAddr::new(ip, port)), used)))
        }
        0x11 | 0x21 => Err(ProxyError("v2 address block too short")),
        _ => Ok(Some((ProxyHeader::Local, used))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let l = parse_list("10.0.0.0/8, 127.0.0.1 ,fd00::/8").unwrap();
        assert!(trusted(&l, ip("10.200.1.1")));
        assert!(trusted(&l, ip("127.0.0.1")));
        assert!(!trusted(&l, ip("127.0.0.2")));
        assert!(trusted(&l, ip("fd12::1")));
        assert!(trusted(&l, ip("::ffff:10.1.2.3")));
        assert!(!trusted(&l, ip("11.0.0.1")));
        assert!(parse_list("").unwrap().is_empty());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(!Cidr::parse("0.0.0.0/0").unwrap().contains(ip("::1")));
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "pbx", "::/129", "1.2.3.4/-1", "1.2.3.4/"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn x_forwarded_for_like_nginx_realip_recursive() {
        let t = parse_list("10.0.0.0/8").unwrap();
        let x = ForwardedHeader::XForwardedFor;
        let peer = ip("10.0.0.2");
        // Rightmost untrusted wins; spoofed entries to its left are ignored.
        assert_eq!(
            client_addr(peer, &t, x, &["6.6.6.6, 203.0.113.9, 10.0.0.7"]),
            ip("203.0.113.9")
        );
        // Several header lines are one list, in order.
        assert_eq!(client_addr(peer, &t, x, &["6.6.6.6", "203.0.113.9"]), ip("203.0.113.9"));
        // From an untrusted peer the header changes nothing.
        assert_eq!(client_addr(ip("192.0.2.1"), &t, x, &["203.0.113.9"]), ip("192.0.2.1"));
        // Missing header, or only trusted hops (the leftmost is taken).
        assert_eq!(client_addr(peer, &t, x, &[]), peer);
        assert_eq!(client_addr(peer, &t, x, &["10.1.1.1, 10.2.2.2"]), ip("10.1.1.1"));
        // Junk stops the walk at the last good address.
        assert_eq!(client_addr(peer, &t, x, &["203.0.113.9, junk"]), peer);
        assert_eq!(client_addr(peer, &t, x, &["junk, 10.3.3.3"]), ip("10.3.3.3"));
        // Ports and IPv6 forms.
        assert_eq!(client_addr(peer, &t, x, &["203.0.113.9:5060"]), ip("203.0.113.9"));
        assert_eq!(client_addr(peer, &t, x, &["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(client_addr(peer, &t, x, &["2001:db8::2"]), ip("2001:db8::2"));
        // Nobody trusted: headers never apply.
        assert_eq!(client_addr(peer, &[], x, &["203.0.113.9"]), peer);
    }

    #[test]
    fn rfc7239_forwarded() {
        let t = parse_list("10.0.0.0/8").unwrap();
        let f = ForwardedHeader::Forwarded;
        let peer = ip("10.0.0.2");
        let v =
            r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.9;by=10.0.0.2"#;
        assert_eq!(client_addr(peer, &t, f, &[v]), ip("2001:db8:cafe::17"));
        assert_eq!(client_addr(peer, &t, f, &["For=192.0.2.60;proto=http"]), ip("192.0.2.60"));
        assert_eq!(client_addr(peer, &t, f, &["for=unknown"]), peer);
        assert_eq!(client_addr(peer, &t, f, &["for=_hidden, for=192.0.2.1"]), ip("192.0.2.1"));
        assert_eq!(client_addr(peer, &t, f, &["proto=https"]), peer);
    }

    #[test]
    fn proxy_v1() {
        let h = b"PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n";
        let (hdr, used) = parse_proxy(h).unwrap().unwrap();
        assert_eq!(hdr, ProxyHeader::Client("192.0.2.7:56324".parse().unwrap()));
        assert_eq!(&h[used..used + 3], b"GET");
        let h6 = b"PROXY TCP6 2001:db8::1 ::1 1 2\r\n";
        assert_eq!(
            parse_proxy(h6).unwrap().unwrap().0,
            ProxyHeader::Client("[2001:db8::1]:1".parse().unwrap())
        );
        assert_eq!(parse_proxy(b"PROXY UNKNOWN\r\n").unwrap().unwrap().0, ProxyHeader::Local);
        // Incomplete: wait; every prefix of a good header waits.
        for i in 1..h.len() - 20 {
            assert_eq!(parse_proxy(&h[..i.min(40)]), Ok(None), "{i}");
        }
        for bad in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            b"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        ] {
            assert!(parse_proxy(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let long = [&b"PROXY TCP4 "[..], &[b'1'; 200]].concat();
        assert!(parse_proxy(&long).is_err());
    }

    #[test]
    fn proxy_v2() {
        let mut h = V2_SIG.to_vec();
        h.extend_from_slice(&[0x21, 0x11, 0, 12 + 5]);
        h.extend_from_slice(&[192, 0, 2, 7, 10, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb]);
        h.extend_from_slice(&[0x04, 0, 2, b'h', b'i']); // one TLV (NOOP), skipped
        h.extend_from_slice(b"\x16\x03\x01"); // what follows (a TLS ClientHello)
        let (hdr, used) = parse_proxy(&h).unwrap().unwrap();
        assert_eq!(hdr, ProxyHeader::Client("192.0.2.7:56324".parse().unwrap()));
        assert_eq!(&h[used..], b"\x16\x03\x01");
        for i in 1..used {
            assert_eq!(parse_proxy(&h[..i]), Ok(None), "{i}");
        }
        let mut local = V2_SIG.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(parse_proxy(&local).unwrap().unwrap(), (ProxyHeader::Local, 16));
        let mut v6 = V2_SIG.to_vec();
        v6.extend_from_slice(&[0x21, 0x21, 0, 36]);
        let mut a = [0u8; 36];
        a[0] = 0x20;
        a[1] = 0x01;
        a[15] = 9;
        a[32] = 0x13;
        a[33] = 0xc4;
        v6.extend_from_slice(&a);
        assert_eq!(
            parse_proxy(&v6).unwrap().unwrap().0,
            ProxyHeader::Client("[2001::9]:5060".parse().unwrap())
        );
        let bad_version = [&V2_SIG[..], &[0x31, 0x11, 0, 0]].concat();
        assert!(parse_proxy(&bad_version).is_err());
        let too_short = [&V2_SIG[..], &[0x21, 0x11, 0, 4, 1, 2, 3, 4]].concat();
        assert!(parse_proxy(&too_short).is_err());
        let huge = [&V2_SIG[..], &[0x21, 0x11, 0xff, 0xff]].concat();
        assert!(parse_proxy(&huge).is_err(), "a 64 KiB header is refused before it is read");
    }
}
