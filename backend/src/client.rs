//! Who a request comes from: the peer's address, or, when the peer is a proxy the operator
//! trusts (`STAGEBOARD_TRUSTED_PROXIES`), the address that proxy puts in `X-Forwarded-For`.
//! Anyone else's `X-Forwarded-For` is ignored: a client cannot choose its own address.
//! Per-address bounds (`STAGEBOARD_MAX_STREAMS_PER_ADDRESS`) are off unless configured, so that
//! many people behind one address (an office's NAT) are not locked out by default.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::app::AppState;

/// The address a request comes from, when the server knows it (not for requests made inside
/// the process, as tests do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddr(peer.map(|peer| {
            client_address(peer, &parts.headers, &state.clients().trusted)
        })))
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy (proxies append, so the
/// entries further left were written by whoever reached the first proxy, and may be made up).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    let mut client = canonical(peer);
    for hop in forwarded.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // Garbage where an address should be: trust nothing beyond it.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// `203.0.113.7`, `[2001:db8::1]:443`, `203.0.113.7:5000` or `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// IPv4 seen through an IPv6 socket (`::ffff:10.0.0.1`) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The trusted proxies, and the per-address bound on event streams with its counts.
#[derive(Debug, Default)]
pub struct Clients {
    pub trusted: Vec<IpNet>,
    pub streams_per_address: Option<usize>,
    open: OpenStreams,
}

/// Event streams open per address.
type OpenStreams = Arc<Mutex<HashMap<IpAddr, usize>>>;

impl Clients {
    pub fn new(trusted: Vec<IpNet>, streams_per_address: Option<usize>) -> Self {
        Clients {
            trusted,
            streams_per_address,
            open: Arc::default(),
        }
    }

    /// A place for one more event stream from `address`, or `None` when it holds as many as
    /// one address may. Unbounded when no per-address bound is set or the address is unknown.
    pub fn hold_stream(&self, address: Option<IpAddr>) -> Option<StreamHold> {
        let (Some(bound), Some(address)) = (self.streams_per_address, address) else {
            return Some(StreamHold(None));
        };
        let address = one_client(address);
        let mut open = self.open.lock().expect("streams lock");
        let count = open.entry(address).or_default();
        if *count >= bound {
            return None;
        }
        *count += 1;
        Some(StreamHold(Some((self.open.clone(), address))))
    }
}

/// The address that stands for one client: an IPv6 host is given a whole /64 to choose its
/// addresses from, so its /64 counts as one.
fn one_client(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

/// One event stream's place among its address's; given back when the stream ends.
#[derive(Debug)]
pub struct StreamHold(Option<(OpenStreams, IpAddr)>);

impl Drop for StreamHold {
    fn drop(&mut self) {
        if let Some((open, address)) = self.0.take() {
            let mut open = open.lock().expect("streams lock");
            if let Some(count) = open.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&address);
                }
            }
        }
    }
}

/// `STAGEBOARD_TRUSTED_PROXIES` entries: addresses or networks (`10.0.0.0/8`).
pub fn parse_trusted(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("STAGEBOARD_TRUSTED_PROXIES: `{e}` is not an address or a network such as 10.0.0.0/8.")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for f in forwarded {
            h.append("x-forwarded-for", f.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_may_say_who_the_client_is() {
        let trusted = parse_trusted(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        // A client talking directly cannot claim another address.
        assert_eq!(
            client_address(ip("198.51.100.9"), &headers(&["1.2.3.4"]), &trusted),
            ip("198.51.100.9")
        );
        // Behind the ingress: the address the ingress saw.
        assert_eq!(
            client_address(ip("10.1.2.3"), &headers(&["203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // A made-up entry on the left, two trusted proxies: the first untrusted from the right.
        assert_eq!(
            client_address(
                ip("10.1.2.3"),
                &headers(&["6.6.6.6, 203.0.113.7", "192.0.2.1"]),
                &trusted
            ),
            ip("203.0.113.7")
        );
        // Garbage stops the walk at the last trusted hop; no header leaves the proxy.
        assert_eq!(
            client_address(ip("10.1.2.3"), &headers(&["203.0.113.7, junk"]), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(client_address(ip("10.1.2.3"), &headers(&[]), &trusted), ip("10.1.2.3"));
        assert_eq!(
            client_address(ip("10.1.2.3"), &headers(&["[2001:db8::1]:443"]), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_address(ip("::ffff:10.1.2.3"), &headers(&["203.0.113.7:5000"]), &trusted),
            ip("203.0.113.7")
        );
        assert!(
            parse_trusted(&["10.0.0.0/33".into()])
                .unwrap_err()
                .contains("10.0.0.0/33")
        );
    }

    #[test]
    fn an_address_holds_at_most_its_bound_of_streams_and_gets_them_back() {
        let clients = Clients::new(vec![], Some(2));
        let a = Some(ip("203.0.113.7"));
        let first = clients.hold_stream(a).unwrap();
        let _second = clients.hold_stream(a).unwrap();
        assert!(clients.hold_stream(a).is_none());
        assert!(
            clients.hold_stream(Some(ip("203.0.113.8"))).is_some(),
            "another address"
        );
        assert!(clients.hold_stream(None).is_some(), "unknown addresses are not bounded");
        drop(first);
        assert!(clients.hold_stream(a).is_some());
        // An IPv6 host picks any address of its /64: the /64 is the client.
        let _v6 = clients.hold_stream(Some(ip("2001:db8:1:2::1"))).unwrap();
        let _v6 = clients.hold_stream(Some(ip("2001:db8:1:2:ffff::9"))).unwrap();
        assert!(clients.hold_stream(Some(ip("2001:db8:1:2::abcd"))).is_none());
        assert!(
            clients.hold_stream(Some(ip("2001:db8:1:3::1"))).is_some(),
            "another /64"
        );
        let unbounded = Clients::new(vec![], None);
        let held: Vec<_> = (0..100).map(|_| unbounded.hold_stream(a).unwrap()).collect();
        assert_eq!(held.len(), 100);
    }
}
