//! The storage checks' view of a quantity: sign, order, whole-unit value and printed form,
//! read with the shared [`Quantity`] parser. Unreadable text yields `None`; the typed
//! decode refuses it before validation.

use std::cmp::Ordering;

use serde_json::Value;

use super::super::quantity::Quantity;

/// A readable quantity.
#[derive(Debug, Clone)]
pub(super) struct Qty(Quantity);

impl Qty {
    /// Reads a quantity from its JSON form (a string, or a bare number).
    pub(super) fn from_json(v: &Value) -> Option<Self> {
        Quantity::from_json(v).ok().map(Self)
    }

    pub(super) fn is_positive(&self) -> bool {
        !self.0.is_negative() && !self.0.is_zero()
    }

    pub(super) fn is_negative(&self) -> bool {
        self.0.is_negative()
    }

    /// Upstream's `Value()`: rounded up (away from zero) to a whole unit.
    pub(super) fn value(&self) -> i128 {
        self.0.value()
    }

    /// The printed form (upstream's `String()`).
    pub(super) fn shown(&self) -> String {
        self.0.to_string()
    }

    /// A text equal for equal amounts, so `1Gi` and `1024Mi` compare equal.
    pub(super) fn amount_key(&self) -> String {
        self.0.amount_key()
    }

    /// Order by amount only.
    pub(super) fn cmp_amount(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_quantities() {
        let q = |v: Value| Qty::from_json(&v).unwrap();
        assert_eq!(
            q(json!("1Gi")).cmp_amount(&q(json!("1024Mi"))),
            Ordering::Equal
        );
        assert_eq!(
            q(json!("1Gi")).amount_key(),
            q(json!("1073741824")).amount_key()
        );
        assert_ne!(q(json!("1Gi")).amount_key(), q(json!("1G")).amount_key());
        assert_eq!(q(json!("1G")).cmp_amount(&q(json!("1Gi"))), Ordering::Less);
        assert_eq!(q(json!("1.5Gi")).value(), 1_610_612_736);
        assert_eq!(q(json!("500m")).value(), 1);
        assert_eq!(q(json!("-1Gi")).value(), -1_073_741_824);
        assert_eq!(q(json!("-500m")).value(), -1);
        assert_eq!(q(json!(5)).value(), 5);
        assert_eq!(q(json!("1e3")).value(), 1000);
        assert!(q(json!("1n")).is_positive());
        assert!(!q(json!("0Gi")).is_positive());
        assert_eq!(q(json!("0Gi")).shown(), "0");
        assert!(q(json!("-1")).is_negative());
        // As upstream's parser: a bare sign reads as zero.
        assert!(!q(json!("-")).is_positive() && !q(json!("-")).is_negative());
        for bad in [json!("abc"), json!(""), json!("1Qi"), json!(null)] {
            assert!(Qty::from_json(&bad).is_none(), "{bad}");
        }
    }
}
