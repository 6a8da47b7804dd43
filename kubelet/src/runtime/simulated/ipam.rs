//! Pod IPs from a CIDR, as the host-local IPAM of a bridge CNI hands them out: never the
//! network address, never the first host (the gateway), never IPv4's broadcast address;
//! the lowest free address first, so released addresses are reused. Pure.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Addresses of one CIDR.
#[derive(Debug)]
pub(crate) struct Pool {
    network: IpAddr,
    /// One past the last usable offset.
    end: u128,
    /// Offsets below `next` are handed out, except those in `free`.
    next: u128,
    free: BTreeSet<u128>,
}

/// The first offset handed out: `.0` is the network, `.1` the gateway.
const FIRST: u128 = 2;

impl Pool {
    /// Parses `10.244.1.0/24` or `fd00:10:244:1::/64` (host bits are ignored).
    pub(crate) fn parse(cidr: &str) -> Result<Pool, String> {
        let bad = || format!("invalid pod CIDR {cidr:?}");
        let (addr, prefix) = cidr.trim().split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u32 = prefix.parse().map_err(|_| bad())?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(bad());
        }
        let host_bits = bits - prefix;
        let mask = |value: u128| match host_bits {
            128 => 0,
            n => value >> n << n,
        };
        let (network, size) = match addr {
            IpAddr::V4(v4) => {
                let network = mask(u128::from(u32::from(v4)));
                let network = u32::try_from(network).map_err(|_| bad())?;
                (IpAddr::V4(Ipv4Addr::from(network)), 1u128 << host_bits)
            }
            IpAddr::V6(v6) => (
                IpAddr::V6(Ipv6Addr::from(mask(u128::from(v6)))),
                1u128.checked_shl(host_bits).unwrap_or(u128::MAX),
            ),
        };
        let end = if network.is_ipv4() {
            size.saturating_sub(1)
        } else {
            size
        };
        Ok(Pool {
            network,
            end,
            next: FIRST,
            free: BTreeSet::new(),
        })
    }

    /// The lowest free address; `None` when every one is taken.
    pub(crate) fn allocate(&mut self) -> Option<IpAddr> {
        let offset = match self.free.pop_first() {
            Some(offset) => offset,
            None if self.next < self.end => {
                self.next += 1;
                self.next - 1
            }
            None => return None,
        };
        Some(self.address(offset))
    }

    /// Gives `ip` back (an address this pool did not hand out is ignored).
    pub(crate) fn release(&mut self, ip: IpAddr) {
        let offset = match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip).checked_sub(u32::from(net)).map(u128::from)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip).checked_sub(u128::from(net)),
            _ => None,
        };
        if let Some(offset) = offset.filter(|o| (FIRST..self.next).contains(o)) {
            self.free.insert(offset);
        }
    }

    fn address(&self, offset: u128) -> IpAddr {
        match self.network {
            // The offset is below the pool's size, so it fits in the address.
            IpAddr::V4(net) => {
                IpAddr::V4(Ipv4Addr::from(u32::from(net).wrapping_add(offset as u32)))
            }
            IpAddr::V6(net) => IpAddr::V6(Ipv6Addr::from(u128::from(net).wrapping_add(offset))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(pool: &mut Pool, n: usize) -> Vec<String> {
        (0..n)
            .filter_map(|_| pool.allocate())
            .map(|ip| ip.to_string())
            .collect()
    }

    #[test]
    fn hands_out_from_the_third_address() {
        let cases = [
            ("10.244.1.0/24", ["10.244.1.2", "10.244.1.3"]),
            ("10.244.1.77/24", ["10.244.1.2", "10.244.1.3"]),
            ("10.88.0.0/16", ["10.88.0.2", "10.88.0.3"]),
            (
                "fd00:10:244:1::/64",
                ["fd00:10:244:1::2", "fd00:10:244:1::3"],
            ),
        ];
        for (cidr, want) in cases {
            let mut pool = Pool::parse(cidr).unwrap();
            assert_eq!(take(&mut pool, 2), want, "{cidr}");
        }
    }

    #[test]
    fn ipv4_skips_broadcast_and_runs_out() {
        let mut pool = Pool::parse("192.168.7.0/29").unwrap();
        let got = take(&mut pool, 10);
        assert_eq!(
            got,
            [
                "192.168.7.2",
                "192.168.7.3",
                "192.168.7.4",
                "192.168.7.5",
                "192.168.7.6"
            ]
        );
        assert_eq!(pool.allocate(), None);
        let mut v6 = Pool::parse("fd00::/126").unwrap();
        assert_eq!(take(&mut v6, 10), ["fd00::2", "fd00::3"]);
        assert_eq!(Pool::parse("10.0.0.0/31").unwrap().allocate(), None);
    }

    #[test]
    fn released_addresses_are_reused_lowest_first() {
        let mut pool = Pool::parse("10.1.0.0/24").unwrap();
        let ips: Vec<IpAddr> = (0..4).filter_map(|_| pool.allocate()).collect();
        pool.release(ips[2]);
        pool.release(ips[0]);
        pool.release("10.1.0.200".parse().unwrap());
        pool.release("10.1.0.1".parse().unwrap());
        pool.release("10.2.0.2".parse().unwrap());
        pool.release("fd00::2".parse().unwrap());
        assert_eq!(
            take(&mut pool, 4),
            ["10.1.0.2", "10.1.0.4", "10.1.0.6", "10.1.0.7"]
        );
    }

    #[test]
    fn rejects_what_is_not_a_cidr() {
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "fd00::/129",
            "nope/8",
            "10.0.0.0/x",
            "",
        ] {
            assert!(Pool::parse(bad).is_err(), "{bad}");
        }
        assert!(Pool::parse("::/0").unwrap().allocate().is_some());
    }
}
