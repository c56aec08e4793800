//! Who is asking: the TCP peer, unless the peer is one of the operator's load balancers
//! (`GATEHOUSE_TRUSTED_PROXIES`), whose `X-Forwarded-For` then names the client. The sign-in
//! throttle counts by this address, so behind a balancer the users do not share one counter,
//! and nobody else can choose the address they are counted under.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The client's address. From a trusted proxy, the nearest `X-Forwarded-For` entry that is
/// not itself a trusted proxy: each proxy appends the address it saw, so entries to the left
/// of the first untrusted hop may be anything the client wrote.
pub fn client_address(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let is_trusted = |a: &IpAddr| trusted.iter().any(|n| n.contains(a));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
        .collect();
    Some(forwarded.into_iter().rev().find(|a| !is_trusted(a)).unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn from(peer: &str, forwarded: Option<&str>, trusted: &[&str]) -> Option<IpAddr> {
        let mut req = TestRequest::default().peer_addr(format!("{peer}:4000").parse().expect("peer"));
        if let Some(f) = forwarded {
            req = req.insert_header(("X-Forwarded-For", f));
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().expect("net")).collect();
        client_address(&req.to_http_request(), &trusted)
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        // No trusted proxies: the header is the client's own word, and ignored.
        assert_eq!(from("203.0.113.9", Some("198.51.100.1"), &[]), ip("203.0.113.9"));
        // From the balancer: the address it saw.
        assert_eq!(from("10.0.0.2", Some("198.51.100.1"), &["10.0.0.0/8"]), ip("198.51.100.1"));
        // A client's forged entry stays to the left of what the balancer appended.
        assert_eq!(from("10.0.0.2", Some("1.2.3.4, 198.51.100.1"), &["10.0.0.0/8"]), ip("198.51.100.1"));
        // Two trusted hops: the first untrusted address from the right.
        assert_eq!(from("10.0.0.2", Some("198.51.100.1, 10.0.0.3"), &["10.0.0.0/8"]), ip("198.51.100.1"));
        // A trusted peer without a usable header is the client.
        assert_eq!(from("10.0.0.2", Some("garbage"), &["10.0.0.0/8"]), ip("10.0.0.2"));
    }
}
