//! Storage sizes compared exactly, in nano-units, through the shared Kubernetes `Quantity`
//! parser.

use keelson_client::quantity::ExactQuantity;

/// The quantity in nano-units (`1Ki` = 1024·10⁹); `None` when it does not parse.
pub fn parse(text: &str) -> Option<i128> {
    ExactQuantity::parse(text).ok().map(ExactQuantity::nanos)
}

/// Whole units, rounded up (upstream `Quantity.Value()`).
pub fn round_up(nanos: i128) -> i128 {
    i128::from(ExactQuantity::from_nanos(nanos).value())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NANO: i128 = 1_000_000_000;

    #[test]
    fn sizes_in_nano_units() {
        assert_eq!(parse("1.5Gi"), Some(1_610_612_736 * NANO));
        assert_eq!(parse("100m"), Some(NANO / 10));
        assert_eq!(parse("1x"), None);
        assert_eq!(round_up(NANO + 1), 2);
        assert_eq!(round_up(2 * NANO), 2);
    }
}
