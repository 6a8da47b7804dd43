//! The pure allocator behind node IPAM (upstream's `CidrSet`): a cluster CIDR cut into
//! equal blocks of a node mask size, handed out in turn (the search resumes after the last
//! block given), marked used when found on existing nodes, released when nodes go.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Upstream's limit on how many bits longer a node mask may be than the cluster's.
const MAX_DIFF: u8 = 16;

/// Why a CIDR cannot be used or given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Not `address/prefix`.
    #[error("invalid CIDR {0:?}")]
    Invalid(String),
    /// The node mask does not fit the cluster CIDR.
    #[error(
        "node mask size /{node} does not fit cluster CIDR {cluster} (at most {MAX_DIFF} bits longer)"
    )]
    MaskSize {
        /// The cluster CIDR.
        cluster: String,
        /// The node mask size.
        node: u8,
    },
    /// Every block is taken.
    #[error(
        "CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range"
    )]
    Exhausted,
    /// Not inside the cluster CIDR (or another family).
    #[error("CIDR {0} is outside cluster CIDR {1}")]
    OutOfRange(String, String),
}

/// Parses `address/prefix` into (address bits, total bits, prefix), the address masked.
pub fn parse(cidr: &str) -> Result<(u128, u8, u8), CidrError> {
    let invalid = || CidrError::Invalid(cidr.to_owned());
    let (ip, prefix) = cidr.trim().split_once('/').ok_or_else(invalid)?;
    let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
    let (bits, total) = match ip.parse::<IpAddr>().map_err(|_| invalid())? {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    if prefix > total {
        return Err(invalid());
    }
    Ok((bits & mask(total, prefix), total, prefix))
}

/// The bits below a `/prefix` of a `total`-bit address.
fn host_mask(total: u8, prefix: u8) -> u128 {
    let host = total - prefix;
    if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

/// The bits of a `/prefix` of a `total`-bit address.
fn mask(total: u8, prefix: u8) -> u128 {
    host_mask(total, 0) & !host_mask(total, prefix)
}

fn format(bits: u128, total: u8, prefix: u8) -> String {
    let ip = if total == 32 {
        IpAddr::V4(Ipv4Addr::from(u32::try_from(bits).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(bits))
    };
    format!("{ip}/{prefix}")
}

/// One cluster CIDR's blocks.
#[derive(Debug, Clone)]
pub struct CidrSet {
    cluster: String,
    base: u128,
    prefix: u8,
    total: u8,
    node_prefix: u8,
    blocks: u128,
    used: BTreeSet<u128>,
    next: u128,
}

impl CidrSet {
    /// `cluster` (e.g. `10.244.0.0/16`) cut into `/node_prefix` blocks.
    pub fn new(cluster: &str, node_prefix: u8) -> Result<Self, CidrError> {
        let (base, total, prefix) = parse(cluster)?;
        if node_prefix < prefix || node_prefix > total || node_prefix - prefix > MAX_DIFF {
            return Err(CidrError::MaskSize {
                cluster: cluster.to_owned(),
                node: node_prefix,
            });
        }
        Ok(Self {
            cluster: cluster.trim().to_owned(),
            base,
            prefix,
            total,
            node_prefix,
            blocks: 1u128 << (node_prefix - prefix),
            used: BTreeSet::new(),
            next: 0,
        })
    }

    /// Whether this set is IPv6.
    pub fn is_v6(&self) -> bool {
        self.total == 128
    }

    fn shift(&self) -> u8 {
        self.total - self.node_prefix
    }

    /// The next free block.
    pub fn allocate(&mut self) -> Result<String, CidrError> {
        for step in 0..self.blocks {
            let index = (self.next + step) % self.blocks;
            if self.used.insert(index) {
                self.next = (index + 1) % self.blocks;
                let bits = self.base + (index << self.shift());
                return Ok(format(bits, self.total, self.node_prefix));
            }
        }
        Err(CidrError::Exhausted)
    }

    /// The block indices `cidr` covers.
    fn indices(&self, cidr: &str) -> Result<std::ops::RangeInclusive<u128>, CidrError> {
        let (bits, total, prefix) = parse(cidr)?;
        let out = || CidrError::OutOfRange(cidr.to_owned(), self.cluster.clone());
        if total != self.total {
            return Err(out());
        }
        let last = bits | host_mask(total, prefix);
        let cluster_last = self.base | host_mask(self.total, self.prefix);
        if bits < self.base || last > cluster_last {
            return Err(out());
        }
        Ok(((bits - self.base) >> self.shift())..=((last - self.base) >> self.shift()))
    }

    /// Marks the blocks `cidr` covers as used.
    pub fn occupy(&mut self, cidr: &str) -> Result<(), CidrError> {
        self.used.extend(self.indices(cidr)?);
        Ok(())
    }

    /// Marks the blocks `cidr` covers as free.
    pub fn release(&mut self, cidr: &str) -> Result<(), CidrError> {
        for index in self.indices(cidr)? {
            self.used.remove(&index);
        }
        Ok(())
    }

    /// Whether `cidr` is of this set's family.
    pub fn same_family(&self, cidr: &str) -> bool {
        parse(cidr).is_ok_and(|(_, total, _)| total == self.total)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        assert_eq!(parse("10.244.1.7/16").unwrap(), (0x0af4_0000, 32, 16));
        assert!(parse("10.0.0.0").is_err());
        assert!(parse("10.0.0.0/33").is_err());
        assert!(parse("fd00::/129").is_err());
        assert_eq!(parse("fd00::1/64").unwrap().0, 0xfd00u128 << 112);
    }

    #[test]
    fn allocates_in_turn_and_reuses_released_blocks() {
        let mut set = CidrSet::new("10.244.0.0/22", 24).unwrap();
        set.occupy("10.244.1.0/24").unwrap();
        assert_eq!(set.allocate().unwrap(), "10.244.0.0/24");
        assert_eq!(set.allocate().unwrap(), "10.244.2.0/24");
        assert_eq!(set.allocate().unwrap(), "10.244.3.0/24");
        assert_eq!(set.allocate(), Err(CidrError::Exhausted));
        set.release("10.244.2.0/24").unwrap();
        assert_eq!(set.allocate().unwrap(), "10.244.2.0/24");
        assert_eq!(set.allocate(), Err(CidrError::Exhausted));
    }

    #[test]
    fn occupy_checks_the_range() {
        let mut set = CidrSet::new("10.244.0.0/16", 24).unwrap();
        assert!(matches!(
            set.occupy("10.245.0.0/24"),
            Err(CidrError::OutOfRange(..))
        ));
        assert!(matches!(
            set.occupy("fd00::/64"),
            Err(CidrError::OutOfRange(..))
        ));
        // A wider range covers several blocks.
        set.occupy("10.244.0.0/23").unwrap();
        assert_eq!(set.allocate().unwrap(), "10.244.2.0/24");
        // The whole cluster range.
        let mut all = CidrSet::new("10.0.0.0/30", 31).unwrap();
        all.occupy("10.0.0.0/30").unwrap();
        assert_eq!(all.allocate(), Err(CidrError::Exhausted));
    }

    #[test]
    fn ipv6_and_mask_limits() {
        let mut set = CidrSet::new("fd00:10::/56", 64).unwrap();
        assert!(set.is_v6());
        assert_eq!(set.allocate().unwrap(), "fd00:10::/64");
        assert_eq!(set.allocate().unwrap(), "fd00:10:0:1::/64");
        assert!(CidrSet::new("10.0.0.0/8", 25).is_err());
        assert!(CidrSet::new("10.0.0.0/24", 16).is_err());
        assert!(CidrSet::new("10.0.0.0/24", 33).is_err());
        let mut whole = CidrSet::new("0.0.0.0/0", 16).unwrap();
        assert_eq!(whole.allocate().unwrap(), "0.0.0.0/16");
    }
}
