//! The ranges Services draw from: the service CIDR and the node port range, with the
//! numbering of their members as offsets and the sizes of their static bands.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a configured range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not `address/prefix`.
    #[error("{0:?} is not a CIDR (like 10.96.0.0/12)")]
    NotCidr(String),
    /// Two CIDRs (dual-stack), which Keelson does not serve yet.
    #[error("{0:?}: dual-stack service CIDRs are not supported; give one CIDR")]
    DualStack(String),
    /// More addresses than the allocator keeps (upstream: at most 20 host bits).
    #[error("{cidr} is too large; for {bits}-bit addresses, the mask must be >= {min}")]
    TooLarge {
        /// The CIDR given.
        cidr: String,
        /// 32 or 128.
        bits: u8,
        /// The smallest prefix length allowed.
        min: u8,
    },
    /// Fewer than two usable addresses (the `kubernetes` Service takes the first).
    #[error("{0} is too small: it must hold at least 2 usable addresses")]
    TooSmall(String),
    /// Not `low-high`, `base+size` or a single port.
    #[error("{0:?} is not a port range (like 30000-32767)")]
    NotPortRange(String),
}

/// An IP family, named as in `spec.ipFamilies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamily {
    /// `IPv4`.
    V4,
    /// `IPv6`.
    V6,
}

impl IpFamily {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// `IPv4` or `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        }
    }

    /// The other family.
    pub fn other(self) -> Self {
        match self {
            Self::V4 => Self::V6,
            Self::V6 => Self::V4,
        }
    }
}

/// Upstream's bitmap keeps at most this many IPv6 addresses.
const MAX_IPV6_ADDRESSES: u128 = 65536;
/// Upstream's `maxCIDRBits`: a service CIDR has at most 20 host bits.
const MAX_HOST_BITS: u8 = 20;

/// The service CIDR (`--service-cluster-ip-range`). Usable addresses exclude the network
/// address and, for IPv4, the broadcast address; they are numbered from 0 (the first
/// address after the network address, which upstream gives to the `kubernetes` Service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCidr {
    network: IpAddr,
    prefix: u8,
}

impl Default for ServiceCidr {
    /// kube-apiserver's default, `10.96.0.0/12`.
    fn default() -> Self {
        Self {
            network: IpAddr::V4(Ipv4Addr::new(10, 96, 0, 0)),
            prefix: 12,
        }
    }
}

impl ServiceCidr {
    /// The CIDR containing `addr` with `prefix` bits of network (host bits are masked).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, RangeError> {
        let bits = bits_of(addr);
        let shown = format!("{addr}/{prefix}");
        if prefix > bits {
            return Err(RangeError::NotCidr(shown));
        }
        if bits - prefix > MAX_HOST_BITS {
            return Err(RangeError::TooLarge {
                cidr: shown,
                bits,
                min: bits - MAX_HOST_BITS,
            });
        }
        let host_mask = if prefix == bits {
            0
        } else {
            (1u128 << (bits - prefix)) - 1
        };
        let network = from_u128(addr, to_u128(addr) & !host_mask);
        let cidr = Self { network, prefix };
        if cidr.size() < 2 {
            return Err(RangeError::TooSmall(cidr.to_string()));
        }
        Ok(cidr)
    }

    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The family of the CIDR.
    pub fn family(&self) -> IpFamily {
        IpFamily::of(self.network)
    }

    fn host_bits(&self) -> u8 {
        bits_of(self.network) - self.prefix
    }

    /// Every address of the CIDR, network and broadcast included (upstream `RangeSize`).
    fn range_size(&self) -> u128 {
        1u128 << self.host_bits()
    }

    /// How many addresses can be handed out.
    pub fn size(&self) -> u32 {
        let usable = match self.family() {
            IpFamily::V4 => self.range_size().saturating_sub(2),
            IpFamily::V6 => (self.range_size() - 1).min(MAX_IPV6_ADDRESSES),
        };
        u32::try_from(usable).unwrap_or(u32::MAX)
    }

    /// The size of the lower band kept for explicitly requested addresses: upstream's
    /// `min(max(16, size/16), 256)`, none for ranges of 16 addresses or fewer.
    pub fn static_band(&self) -> u32 {
        band(self.range_size(), 16, 256, 16)
    }

    /// True when `ip` is inside the CIDR at all (network and broadcast included).
    pub fn contains(&self, ip: IpAddr) -> bool {
        IpFamily::of(ip) == self.family()
            && to_u128(ip) >> self.host_bits() == to_u128(self.network) >> self.host_bits()
    }

    /// The offset of `ip` among the usable addresses.
    pub(crate) fn offset_of(&self, ip: IpAddr) -> Result<u32, IpNotUsable> {
        if !self.contains(ip) {
            return Err(IpNotUsable::OtherNetwork);
        }
        let delta = to_u128(ip) - to_u128(self.network);
        if delta == 0 || delta > u128::from(self.size()) {
            return Err(IpNotUsable::Reserved);
        }
        u32::try_from(delta - 1).map_err(|_| IpNotUsable::Reserved)
    }

    /// The usable address at `offset`.
    pub fn ip_at(&self, offset: u32) -> IpAddr {
        from_u128(self.network, to_u128(self.network) + 1 + u128::from(offset))
    }

    /// The first usable address: the `kubernetes` Service's.
    pub fn first(&self) -> IpAddr {
        self.ip_at(0)
    }
}

/// Why an address cannot be handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpNotUsable {
    /// Outside the CIDR (upstream v1.33: "the provided network does not match the current
    /// range").
    OtherNetwork,
    /// The network or broadcast address, or beyond what the allocator keeps (upstream:
    /// "the provided IP (…) is not in the valid range").
    Reserved,
}

impl fmt::Display for ServiceCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for ServiceCidr {
    type Err = RangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.contains(',') {
            return Err(RangeError::DualStack(s.to_owned()));
        }
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| RangeError::NotCidr(s.to_owned()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| RangeError::NotCidr(s.to_owned()))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| RangeError::NotCidr(s.to_owned()))?;
        Self::new(addr, prefix)
    }
}

fn bits_of(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(family_of: IpAddr, value: u128) -> IpAddr {
    match family_of {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(u32::try_from(value).unwrap_or(u32::MAX))),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Upstream's static band: `min(max(min, size/step), max)`, 0 when `size <= min`.
fn band(size: u128, min: u128, max: u128, step: u128) -> u32 {
    if size <= min {
        return 0;
    }
    u32::try_from((size / step).clamp(min, max)).unwrap_or(0)
}

/// The node port range (`--service-node-port-range`), inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    base: u16,
    size: u32,
}

impl Default for PortRange {
    /// kube-apiserver's default, `30000-32767`.
    fn default() -> Self {
        Self {
            base: 30000,
            size: 2768,
        }
    }
}

impl PortRange {
    /// `low..=high`; `None` if `low > high` or `low` is 0.
    pub fn new(low: u16, high: u16) -> Option<Self> {
        (low > 0 && low <= high).then(|| Self {
            base: low,
            size: u32::from(high - low) + 1,
        })
    }

    /// How many ports the range has.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The lowest port.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// The highest port.
    pub fn last(&self) -> u16 {
        self.port_at(self.size - 1)
    }

    /// Upstream's static band for ports: `min(max(16, size/32), 128)`.
    pub fn static_band(&self) -> u32 {
        band(u128::from(self.size), 16, 128, 32)
    }

    /// The offset of `port`, if the range holds it.
    pub fn offset_of(&self, port: i64) -> Option<u32> {
        let delta = port.checked_sub(i64::from(self.base))?;
        u32::try_from(delta).ok().filter(|d| *d < self.size)
    }

    /// The port at `offset`.
    pub fn port_at(&self, offset: u32) -> u16 {
        u16::try_from(u32::from(self.base) + offset).unwrap_or(u16::MAX)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.base, self.last())
    }
}

impl FromStr for PortRange {
    type Err = RangeError;

    /// `low-high`, `base+extra` (as upstream's `PortRange.Set`) or a single port.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RangeError::NotPortRange(s.to_owned());
        let t = s.trim();
        let port = |p: &str| p.trim().parse::<u16>().map_err(|_| bad());
        let (low, high) = if let Some((a, b)) = t.split_once('-') {
            (port(a)?, port(b)?)
        } else if let Some((a, b)) = t.split_once('+') {
            let low = port(a)?;
            (low, low.checked_add(port(b)?).ok_or_else(bad)?)
        } else {
            let p = port(t)?;
            (p, p)
        };
        Self::new(low, high).ok_or_else(bad)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_cidr_and_its_numbering() {
        let c: ServiceCidr = "10.96.0.0/12".parse().unwrap();
        assert_eq!(c, ServiceCidr::default());
        assert_eq!(c.to_string(), "10.96.0.0/12");
        assert_eq!(c.size(), (1 << 20) - 2);
        assert_eq!(c.static_band(), 256);
        assert_eq!(c.first(), ip("10.96.0.1"));
        assert_eq!(c.offset_of(ip("10.96.0.1")), Ok(0));
        assert_eq!(c.offset_of(ip("10.96.0.10")), Ok(9));
        assert_eq!(c.ip_at(9), ip("10.96.0.10"));
        assert_eq!(c.ip_at(c.size() - 1), ip("10.111.255.254"));
        assert_eq!(c.offset_of(ip("10.96.0.0")), Err(IpNotUsable::Reserved));
        assert_eq!(
            c.offset_of(ip("10.111.255.255")),
            Err(IpNotUsable::Reserved)
        );
        assert_eq!(
            c.offset_of(ip("10.112.0.0")),
            Err(IpNotUsable::OtherNetwork)
        );
        assert_eq!(c.offset_of(ip("10.0.0.5")), Err(IpNotUsable::OtherNetwork));
        assert_eq!(c.offset_of(ip("fd00::1")), Err(IpNotUsable::OtherNetwork));
    }

    #[test]
    fn cidrs_are_masked_and_checked() {
        let c: ServiceCidr = "10.0.0.7/24".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/24");
        assert_eq!(c.size(), 254);
        assert_eq!(c.static_band(), 16);
        let small: ServiceCidr = "192.168.0.0/28".parse().unwrap();
        assert_eq!((small.size(), small.static_band()), (14, 0));
        assert_eq!(
            "10.0.0.0/8".parse::<ServiceCidr>(),
            Err(RangeError::TooLarge {
                cidr: "10.0.0.0/8".into(),
                bits: 32,
                min: 12
            })
        );
        assert!(matches!(
            "10.0.0.0/31".parse::<ServiceCidr>(),
            Err(RangeError::TooSmall(_))
        ));
        assert!(matches!(
            "10.0.0.0/12,fd00::/108".parse::<ServiceCidr>(),
            Err(RangeError::DualStack(_))
        ));
        for bad in ["", "10.0.0.0", "10.0.0.0/33", "nope/12", "10.0.0.0/x"] {
            assert!(
                matches!(bad.parse::<ServiceCidr>(), Err(RangeError::NotCidr(_))),
                "{bad}"
            );
        }
        let v6: ServiceCidr = "fd00:10:96::/112".parse().unwrap();
        assert_eq!(v6.family(), IpFamily::V6);
        assert_eq!(v6.size(), 65535);
        assert_eq!(v6.first(), ip("fd00:10:96::1"));
        assert_eq!(v6.offset_of(ip("fd00:10:96::ffff")), Ok(65534));
    }

    #[test]
    fn port_ranges_parse_like_upstream() {
        let r: PortRange = "30000-32767".parse().unwrap();
        assert_eq!(r, PortRange::default());
        assert_eq!((r.size(), r.static_band(), r.last()), (2768, 86, 32767));
        assert_eq!(r.to_string(), "30000-32767");
        assert_eq!("30000+2767".parse::<PortRange>(), Ok(r));
        assert_eq!(
            "8080".parse::<PortRange>().unwrap().to_string(),
            "8080-8080"
        );
        assert_eq!(r.offset_of(30000), Some(0));
        assert_eq!(r.offset_of(32767), Some(2767));
        assert_eq!(r.offset_of(32768), None);
        assert_eq!(r.offset_of(29999), None);
        assert_eq!(r.offset_of(-5), None);
        assert_eq!(r.port_at(80), 30080);
        for bad in ["", "a-b", "32767-30000", "0-10", "30000-70000", "65535+1"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
    }
}
