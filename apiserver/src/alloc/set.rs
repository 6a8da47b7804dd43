//! The set of offsets taken in one range, with upstream's allocation strategy (a random
//! free offset in the upper part of the range; the lower "static" band only once the upper
//! part is full, so explicitly requested numbers, which are usually low, rarely collide)
//! and a compact stored encoding.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Why a stored set could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// Not base64.
    #[error("allocation data is not base64")]
    Base64,
    /// A varint runs past the end or overflows.
    #[error("allocation data is truncated or overflows")]
    Truncated,
}

/// The offsets taken in a range of `max` offsets whose lowest `band` offsets are the
/// static band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allocated {
    max: u32,
    band: u32,
    used: BTreeSet<u32>,
}

impl Allocated {
    /// Nothing taken yet.
    pub(crate) fn new(max: u32, band: u32) -> Self {
        Self {
            max,
            band: band.min(max),
            used: BTreeSet::new(),
        }
    }

    /// How many offsets are taken.
    pub(crate) fn len(&self) -> usize {
        self.used.len()
    }

    /// True when nothing is taken.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// True when `offset` is taken.
    pub(crate) fn has(&self, offset: u32) -> bool {
        self.used.contains(&offset)
    }

    /// The taken offsets, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.used.iter().copied()
    }

    /// Takes `offset`; false if it was taken already or is out of range.
    pub(crate) fn allocate(&mut self, offset: u32) -> bool {
        offset < self.max && self.used.insert(offset)
    }

    /// Gives `offset` back; false if it was not taken.
    pub(crate) fn release(&mut self, offset: u32) -> bool {
        self.used.remove(&offset)
    }

    /// Takes a free offset: from a random point (drawn from `random`) in the upper part
    /// of the range, scanning forward with wrap-around; then the same in the static band.
    /// `None` when the range is full.
    pub(crate) fn allocate_next(&mut self, random: u64) -> Option<u32> {
        if self.used.len() >= self.max as usize {
            return None;
        }
        let upper = self.max - self.band;
        let found = if upper > 0 {
            let start = self.band + pick(random, upper);
            self.first_free(start, self.max)
                .or_else(|| self.first_free(self.band, start))
        } else {
            None
        };
        let found = found.or_else(|| {
            if self.band == 0 {
                return None;
            }
            let start = pick(random.rotate_left(29), self.band);
            self.first_free(start, self.band)
                .or_else(|| self.first_free(0, start))
        })?;
        self.used.insert(found);
        Some(found)
    }

    /// The lowest free offset in `lo..hi`.
    fn first_free(&self, lo: u32, hi: u32) -> Option<u32> {
        let mut candidate = lo;
        for &taken in self.used.range(lo..hi) {
            if taken != candidate {
                break;
            }
            candidate += 1;
        }
        (candidate < hi).then_some(candidate)
    }

    /// The set as stored: base64 of the ascending offsets as LEB128 varints of the gap to
    /// the previous one (a few bytes per allocation, whatever the size of the range).
    pub(crate) fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(self.used.len() * 2);
        let mut next = 0u32;
        for &offset in &self.used {
            let mut gap = offset - next;
            loop {
                let low = u8::try_from(gap & 0x7f).unwrap_or(0);
                gap >>= 7;
                if gap == 0 {
                    bytes.push(low);
                    break;
                }
                bytes.push(low | 0x80);
            }
            next = offset + 1;
        }
        STANDARD.encode(bytes)
    }

    /// Reads what [`encode`](Self::encode) wrote; offsets beyond `max` are dropped.
    pub(crate) fn decode(max: u32, band: u32, data: &str) -> Result<Self, DecodeError> {
        let bytes = STANDARD.decode(data).map_err(|_| DecodeError::Base64)?;
        let mut set = Self::new(max, band);
        let mut next = 0u64;
        let mut iter = bytes.iter();
        while let Some(&first) = iter.next() {
            let mut gap = u64::from(first & 0x7f);
            let mut shift = 7;
            let mut byte = first;
            while byte & 0x80 != 0 {
                byte = *iter.next().ok_or(DecodeError::Truncated)?;
                if shift > 35 {
                    return Err(DecodeError::Truncated);
                }
                gap |= u64::from(byte & 0x7f) << shift;
                shift += 7;
            }
            let offset = next + gap;
            let offset = u32::try_from(offset).map_err(|_| DecodeError::Truncated)?;
            if offset < max {
                set.used.insert(offset);
            }
            next = u64::from(offset) + 1;
        }
        Ok(set)
    }
}

/// `random` reduced to `0..n` (`n > 0`).
fn pick(random: u64, n: u32) -> u32 {
    u32::try_from(random % u64::from(n)).unwrap_or(0)
}

/// A fresh random number (uuid v4's generator; no other randomness source is needed).
pub(crate) fn random() -> u64 {
    let bits = uuid::Uuid::new_v4().as_u128();
    let (high, low) = ((bits >> 64) as u64, bits as u64);
    high ^ low.rotate_left(17)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn allocate_release_and_fill_a_range() {
        let mut set = Allocated::new(40, 16);
        assert!(set.allocate(3));
        assert!(!set.allocate(3));
        assert!(!set.allocate(40));
        assert!(set.release(3));
        assert!(!set.release(3));
        // Dynamic allocations use the upper part first, whatever the random draw.
        let mut seen = BTreeSet::new();
        for i in 0..24u64 {
            let o = set
                .allocate_next(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .unwrap();
            assert!((16..40).contains(&o), "{o}");
            assert!(seen.insert(o));
        }
        // Then the static band, then nothing.
        for i in 0..16u64 {
            let o = set.allocate_next(i * 7).unwrap();
            assert!(o < 16, "{o}");
            assert!(seen.insert(o));
        }
        assert_eq!(set.len(), 40);
        assert_eq!(set.allocate_next(1), None);
        set.release(17);
        assert_eq!(set.allocate_next(12345), Some(17));
    }

    #[test]
    fn allocation_scans_forward_from_the_random_point_and_wraps() {
        let mut set = Allocated::new(10, 0);
        for o in [5, 6, 7, 8, 9] {
            set.allocate(o);
        }
        // Draw 5: 5..9 are taken, so wrap to 0.
        assert_eq!(set.allocate_next(5), Some(0));
        assert_eq!(set.allocate_next(6), Some(1));
        assert_eq!(set.allocate_next(2), Some(2));
    }

    #[test]
    fn the_stored_form_round_trips_and_is_compact() {
        let mut set = Allocated::new(1 << 20, 256);
        for o in [0, 1, 2, 127, 128, 300_000, (1 << 20) - 1] {
            assert!(set.allocate(o));
        }
        let data = set.encode();
        assert!(data.len() < 24, "{data}");
        let back = Allocated::decode(1 << 20, 256, &data).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            Allocated::decode(10, 0, &data)
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            vec![0, 1, 2],
            "offsets beyond a smaller range are dropped"
        );
        assert_eq!(Allocated::new(5, 0).encode(), "");
        assert!(Allocated::decode(5, 0, "").unwrap().is_empty());
        assert_eq!(Allocated::decode(5, 0, "!!"), Err(DecodeError::Base64));
        assert_eq!(
            Allocated::decode(5, 0, &STANDARD.encode([0x80])),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn random_numbers_differ() {
        assert_ne!(random(), random());
    }
}
