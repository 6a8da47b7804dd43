//! Exact parsing of Kubernetes quantity strings (`500m`, `1.5Gi`, `2e3`) into nano-units,
//! for every component that compares resources (scheduler fit, volume sizes).
//!
//! Upstream keeps quantities as arbitrary-precision decimals rounded up (away from zero) to
//! nano precision and capped at 2^63-1 base units; `i128` nano-units hold that range exactly,
//! so sums and maxima computed here equal upstream's before any rounding to millis or units.

use thiserror::Error;

/// Nano-units per base unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Largest magnitude upstream keeps: 2^63-1 base units, in nano-units.
const MAX_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;
/// Significant digits kept before the rest only decides rounding.
const MAX_DIGITS: usize = 36;

/// Why a quantity string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// The string was empty.
    #[error("quantity is empty")]
    Empty,
    /// The string does not follow `<signedNumber><suffix>`.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    /// The number was well formed but its suffix is not a known one.
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// A parsed quantity, held exactly in nano-units (10^-9 of the base unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct ExactQuantity {
    nanos: i128,
}

impl ExactQuantity {
    /// The zero quantity.
    pub const ZERO: Self = Self { nanos: 0 };

    /// A quantity of `nanos` nano-units.
    #[must_use]
    pub const fn from_nanos(nanos: i128) -> Self {
        Self { nanos }
    }

    /// A quantity of `milli` thousandths of a unit (`100` is `100m`).
    #[must_use]
    pub const fn from_milli(milli: i64) -> Self {
        Self {
            nanos: milli as i128 * 1_000_000,
        }
    }

    /// A quantity of `units` whole units.
    #[must_use]
    pub const fn from_units(units: i64) -> Self {
        Self {
            nanos: units as i128 * NANOS_PER_UNIT,
        }
    }

    /// Parses a quantity string as the API accepts it (decimal SI `n u m k M G T P E`,
    /// binary SI `Ki … Ei`, or a decimal exponent `e3`/`E-2`).
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        parse(text)
    }

    /// The exact amount in nano-units.
    #[must_use]
    pub const fn nanos(self) -> i128 {
        self.nanos
    }

    /// The amount in whole units, rounded away from zero (upstream `Value()`).
    #[must_use]
    pub fn value(self) -> i64 {
        scale_down(self.nanos, NANOS_PER_UNIT)
    }

    /// The amount in thousandths, rounded away from zero (upstream `MilliValue()`).
    #[must_use]
    pub fn milli_value(self) -> i64 {
        scale_down(self.nanos, 1_000_000)
    }

    /// The sum of two quantities.
    #[must_use]
    pub fn saturating_add(self, other: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_add(other.nanos),
        }
    }
}

/// Divides rounding away from zero, saturating into `i64`.
fn scale_down(nanos: i128, divisor: i128) -> i64 {
    let quotient = nanos / divisor;
    let rounded = if nanos % divisor == 0 {
        quotient
    } else if nanos > 0 {
        quotient + 1
    } else {
        quotient - 1
    };
    i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

/// A suffix's multiplier: `2^binary_exp * 10^decimal_exp`.
struct Multiplier {
    binary_exp: u32,
    decimal_exp: i64,
}

fn suffix_multiplier(suffix: &str) -> Result<Multiplier, QuantityError> {
    let decimal = |decimal_exp| Multiplier {
        binary_exp: 0,
        decimal_exp,
    };
    let binary = |binary_exp| Multiplier {
        binary_exp,
        decimal_exp: 0,
    };
    Ok(match suffix {
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "" => decimal(0),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent = suffix
                .strip_prefix(['e', 'E'])
                .filter(|rest| !rest.is_empty())
                .ok_or(QuantityError::Suffix)?;
            let digits = exponent.trim_start_matches(['+', '-']);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(QuantityError::Suffix);
            }
            // Exponents beyond any representable range behave like their clamped value.
            let value = exponent
                .parse::<i64>()
                .unwrap_or(if exponent.starts_with('-') {
                    i64::MIN / 2
                } else {
                    i64::MAX / 2
                });
            decimal(value)
        }
    })
}

fn parse(text: &str) -> Result<ExactQuantity, QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    let (negative, unsigned) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_len);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(QuantityError::Format);
    }
    if !suffix
        .bytes()
        .all(|b| b"eEinumkKMGTP+-".contains(&b) || b.is_ascii_digit())
    {
        return Err(QuantityError::Format);
    }
    let multiplier = suffix_multiplier(suffix)?;

    // All significant digits as one integer, with the decimal scale they carry.
    let mut digits: String = int_part.chars().chain(frac_part.chars()).collect();
    let mut scale = multiplier
        .decimal_exp
        .saturating_sub(frac_part.len() as i64);
    let trimmed = digits.trim_start_matches('0').to_owned();
    digits = trimmed;
    if digits.is_empty() {
        return Ok(ExactQuantity::ZERO);
    }
    let mut sticky = false;
    if digits.len() > MAX_DIGITS {
        sticky = digits[MAX_DIGITS..].bytes().any(|b| b != b'0');
        scale = scale.saturating_add((digits.len() - MAX_DIGITS) as i64);
        digits.truncate(MAX_DIGITS);
    }
    let mantissa: i128 = digits.parse().map_err(|_| QuantityError::Format)?;
    let mantissa = mantissa
        .checked_mul(1_i128 << multiplier.binary_exp)
        .unwrap_or(i128::MAX);

    let nano_scale = scale.saturating_add(9);
    let magnitude = if nano_scale >= 0 {
        u32::try_from(nano_scale)
            .ok()
            .and_then(|exp| 10_i128.checked_pow(exp))
            .and_then(|factor| mantissa.checked_mul(factor))
            .unwrap_or(MAX_NANOS)
    } else {
        match u32::try_from(-nano_scale)
            .ok()
            .and_then(|exp| 10_i128.checked_pow(exp))
        {
            Some(divisor) => {
                let exact = mantissa % divisor == 0 && !sticky;
                mantissa / divisor + i128::from(!exact)
            }
            // Smaller than one nano-unit but not zero: upstream rounds it up to 1n.
            None => 1,
        }
    };
    let magnitude = magnitude.min(MAX_NANOS);
    Ok(ExactQuantity::from_nanos(if negative {
        -magnitude
    } else {
        magnitude
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_suffixes_and_rounds_like_upstream() {
        // (text, value(), milli_value())
        let cases: &[(&str, i64, i64)] = &[
            ("0", 0, 0),
            ("1", 1, 1000),
            ("100m", 1, 100),
            ("0.5", 1, 500),
            ("1.5", 2, 1500),
            ("250m", 1, 250),
            ("0.1m", 1, 1),
            ("1n", 1, 1),
            ("1500u", 1, 2),
            ("2k", 2000, 2_000_000),
            ("1M", 1_000_000, 1_000_000_000),
            ("1G", 1_000_000_000, 1_000_000_000_000),
            ("1Ki", 1024, 1_024_000),
            ("1Mi", 1_048_576, 1_048_576_000),
            ("200Mi", 209_715_200, 209_715_200_000),
            ("1.5Gi", 1_610_612_736, 1_610_612_736_000),
            ("0.1Ki", 103, 102_400),
            ("1e3", 1000, 1_000_000),
            ("1E3", 1000, 1_000_000),
            ("1e-3", 1, 1),
            ("5e+2", 500, 500_000),
            ("1E", 1_000_000_000_000_000_000, i64::MAX),
            ("1Ei", 1 << 60, i64::MAX),
            (".5", 1, 500),
            ("5.", 5, 5000),
            ("+3", 3, 3000),
            ("-1.5", -2, -1500),
            ("-100m", -1, -100),
            ("007", 7, 7000),
            ("1e-20", 1, 1),
            (
                "99999999999999999999999999999999999999999",
                i64::MAX,
                i64::MAX,
            ),
            (
                "12345678901234567890123456789012345678901m",
                i64::MAX,
                i64::MAX,
            ),
        ];
        for (text, value, milli) in cases {
            let q = ExactQuantity::parse(text).unwrap();
            assert_eq!(q.value(), *value, "value of {text}");
            assert_eq!(q.milli_value(), *milli, "milli of {text}");
        }
    }

    #[test]
    fn keeps_nano_precision_for_sums() {
        let half_milli = ExactQuantity::parse("0.5m").unwrap();
        assert_eq!(half_milli.nanos(), 500_000);
        assert_eq!(half_milli.saturating_add(half_milli).milli_value(), 1);
        assert_eq!(
            ExactQuantity::parse("1.0000000001").unwrap().nanos(),
            1_000_000_001
        );
    }

    #[test]
    fn rejects_malformed_strings() {
        let cases: &[(&str, QuantityError)] = &[
            ("", QuantityError::Empty),
            (".", QuantityError::Format),
            ("-", QuantityError::Format),
            ("1.2.3", QuantityError::Format),
            ("abc", QuantityError::Format),
            (" 1", QuantityError::Format),
            ("1 ", QuantityError::Format),
            ("1x", QuantityError::Format),
            ("1K", QuantityError::Suffix),
            ("1e", QuantityError::Suffix),
            ("1ki", QuantityError::Suffix),
            ("1mm", QuantityError::Suffix),
            ("1e3e", QuantityError::Suffix),
            ("1e+", QuantityError::Suffix),
        ];
        for (text, error) in cases {
            assert_eq!(
                ExactQuantity::parse(text).as_ref(),
                Err(error),
                "parsing {text:?}"
            );
        }
    }
}
