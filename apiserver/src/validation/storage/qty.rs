//! A small reading of Kubernetes quantities for the storage checks: sign, zero, order and
//! the integer value (`Quantity.Value()`), held in nano units.
//!
//! Stands in until the shared `validation::quantity` module is wired; unreadable text
//! yields `None` (the quantity decoder refuses it before validation).

use std::cmp::Ordering;

use serde_json::Value;

const NANO: i128 = 1_000_000_000;

/// A quantity as a count of nano units (saturating far beyond any real size).
#[derive(Debug, Clone)]
pub(super) struct Qty {
    nanos: i128,
    text: String,
}

impl Qty {
    /// Reads a quantity from its JSON form (a string, or a bare number).
    pub(super) fn from_json(v: &Value) -> Option<Self> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let nanos = parse(&text)?;
        Some(Self { nanos, text })
    }

    pub(super) fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    pub(super) fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Upstream's `Value()`: rounded up (away from zero) to a whole unit.
    pub(super) fn value(&self) -> i128 {
        let whole = self.nanos / NANO;
        if self.nanos % NANO == 0 {
            whole
        } else if self.nanos > 0 {
            whole + 1
        } else {
            whole - 1
        }
    }

    /// The printed form (`0` for any zero, otherwise as written).
    pub(super) fn shown(&self) -> String {
        if self.nanos == 0 {
            "0".to_owned()
        } else {
            self.text.clone()
        }
    }

    /// The amount in nano units.
    pub(super) fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Order by amount only.
    pub(super) fn cmp_amount(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

fn parse(s: &str) -> Option<i128> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(split);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let (mut ten, two): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        other => {
            let exp = other.strip_prefix(['e', 'E'])?;
            (exp.parse::<i32>().ok()?, 0)
        }
    };
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    ten += 9 - i32::try_from(frac.len()).ok()?;
    let mut value: i128 = 0;
    for d in digits.bytes() {
        value = value
            .saturating_mul(10)
            .saturating_add(i128::from(d - b'0'));
    }
    value = value.saturating_mul(1i128 << two);
    if ten >= 0 {
        for _ in 0..ten.min(60) {
            value = value.saturating_mul(10);
        }
    } else {
        let mut divisor: i128 = 1;
        for _ in 0..(-ten).min(38) {
            divisor = divisor.saturating_mul(10);
        }
        // Upstream rounds up to whole nano units.
        value = (value + divisor - 1) / divisor;
    }
    Some(if negative { -value } else { value })
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
        assert_eq!(q(json!("1G")).cmp_amount(&q(json!("1Gi"))), Ordering::Less);
        assert_eq!(q(json!("1.5Gi")).value(), 1_610_612_736);
        assert_eq!(q(json!("500m")).value(), 1);
        assert_eq!(q(json!("-1Gi")).value(), -1_073_741_824);
        assert_eq!(q(json!(5)).value(), 5);
        assert_eq!(q(json!("1e3")).value(), 1000);
        assert!(q(json!("1n")).is_positive());
        assert!(!q(json!("0Gi")).is_positive());
        assert_eq!(q(json!("0Gi")).shown(), "0");
        assert!(q(json!("-1")).is_negative());
        for bad in [
            json!("abc"),
            json!(""),
            json!("1Qi"),
            json!(null),
            json!("-"),
        ] {
            assert!(Qty::from_json(&bad).is_none(), "{bad}");
        }
    }
}
