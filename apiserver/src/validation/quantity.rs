//! Kubernetes quantities (`500m`, `1.5Gi`, `1e3`) as upstream's
//! `apimachinery/pkg/api/resource` parses, compares and prints them.
//!
//! A value is held exactly as `mantissa × 10^exponent` (trailing zeros moved into the
//! exponent), rounded up to nano units as upstream rounds. The printed form is upstream's
//! `String()`: the text as given when it already was canonical, otherwise the canonical
//! form (`1000m` → `1`, `0.1` → `100m`, `1.5Gi` → `1536Mi`).

use std::cmp::Ordering;
use std::fmt;

use crate::pointer::At;
use serde_json::Value;

/// Why a text is not a quantity (upstream's three parse errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// The text does not have the shape of a quantity.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    /// The number part cannot be read.
    #[error("unable to parse quantity's numeric part")]
    Numeric,
    /// The suffix is none of the known ones.
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// How a quantity prints: the family of its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `k`, `M`, `m`, … (and no suffix).
    DecimalSi,
    /// `Ki`, `Mi`, ….
    BinarySi,
    /// `e3`, `E-6`.
    DecimalExponent,
}

/// A parsed quantity.
#[derive(Debug, Clone)]
pub(crate) struct Quantity {
    negative: bool,
    /// Without trailing zeros (0 for zero).
    mantissa: u128,
    exponent: i32,
    format: Format,
    /// The text as given, when upstream keeps it as the printed form.
    given: Option<String>,
}

const DECIMAL_SUFFIXES: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];
const BINARY_SUFFIXES: [(&str, i32); 6] = [
    ("Ki", 10),
    ("Mi", 20),
    ("Gi", 30),
    ("Ti", 40),
    ("Pi", 50),
    ("Ei", 60),
];
/// The pieces of a quantity's text, as upstream splits it.
struct Parts<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

/// Splits `s` into sign, integer digits (leading zeros dropped, "0" when none), fraction
/// digits and suffix, with upstream's leniency (`.`, `-`, `Gi` alone read as zero).
fn split(s: &str) -> Result<Parts<'_>, ParseError> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    let zero = |positive| Parts {
        positive,
        num: "0",
        denom: "",
        suffix: "",
    };
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(zero(positive));
    }
    let start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = if pos == start { "0" } else { &s[start..pos] };
    let mut denom = "";
    if pos < end && b[pos] == b'.' {
        pos += 1;
        let d = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[d..pos];
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(ParseError::Format);
    }
    Ok(Parts {
        positive,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// The base (10 or 2), exponent and format a suffix stands for.
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    if let Some((_, e)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some((10, *e, Format::DecimalSi));
    }
    if let Some((_, e)) = BINARY_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some((2, *e, Format::BinarySi));
    }
    let rest = suffix
        .strip_prefix('e')
        .or_else(|| suffix.strip_prefix('E'))?;
    // Upstream reads the exponent as a 64-bit number and keeps its low 32 bits.
    let e: i64 = rest.parse().ok()?;
    Some((10, e as i32, Format::DecimalExponent))
}

fn pow10(k: u32) -> Option<u128> {
    10u128.checked_pow(k)
}

/// `mantissa × 10^exponent` with trailing zeros moved into the exponent.
fn normalize(mut m: u128, mut e: i32) -> (u128, i32) {
    if m == 0 {
        return (0, 0);
    }
    while m.is_multiple_of(10) {
        m /= 10;
        e += 1;
    }
    (m, e)
}

/// Whether upstream's fast path keeps the given text as the printed form.
fn keeps_text(parts: &Parts<'_>, base: u32, exponent: i32) -> bool {
    let digits = parts.num.len() + parts.denom.len();
    let shifted = format!("{}{}", parts.num, parts.denom);
    if base == 2 {
        if exponent < 0 || !parts.denom.is_empty() {
            return false;
        }
        let precision = 15 - parts.num.len() as i64 - (exponent as i64 * 3 / 10) - 1;
        if precision < 0 {
            return false;
        }
        let Ok(value) = shifted.parse::<i64>() else {
            return false;
        };
        if value.checked_mul(1i64 << exponent).is_none() {
            return false;
        }
        return exponent % 10 == 0 && value & 7 != 0;
    }
    if digits > 18 {
        return false;
    }
    let scale = exponent as i64 - parts.denom.len() as i64;
    scale >= -9 && scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0')
}

impl Quantity {
    /// Parses `s` as upstream's `ParseQuantity` (no surrounding whitespace allowed).
    pub(crate) fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() {
            return Err(ParseError::Format);
        }
        let parts = split(s)?;
        let (base, exp, mut format) = interpret(parts.suffix).ok_or(ParseError::Suffix)?;
        let digits = format!("{}{}", parts.num, parts.denom);
        let digits = digits.trim_start_matches('0');
        let kept = digits.trim_end_matches('0');
        let mut e = (digits.len() - kept.len()) as i64 - parts.denom.len() as i64;
        let mut m: u128 = if kept.is_empty() {
            0
        } else {
            kept.parse().map_err(|_| ParseError::Numeric)?
        };
        if base == 10 {
            e += exp as i64;
        } else {
            m = u32::try_from(exp)
                .ok()
                .and_then(|x| 1u128.checked_shl(x))
                .and_then(|f| m.checked_mul(f))
                .ok_or(ParseError::Numeric)?;
        }
        let mut e = i32::try_from(e).map_err(|_| ParseError::Numeric)?;
        // Non-zero values are rounded up (away from zero) to whole nano units.
        if m != 0 && e < -9 {
            let k = (-9 - e) as u32;
            m = match pow10(k) {
                Some(p) => m.div_ceil(p),
                None => 1,
            };
            e = -9;
        }
        let (mut m, mut e) = normalize(m, e);
        if format == Format::BinarySi {
            let max = i64::MAX as u128;
            if parts.positive && cmp_magnitude((m, e), (max, 0)) == Ordering::Greater {
                (m, e) = (max, 0);
            }
            if m != 0 && cmp_magnitude((m, e), (1, 0)) == Ordering::Less {
                format = Format::DecimalSi;
            }
        }
        let given = (s == "0" || keeps_text(&parts, base, exp)).then(|| s.to_owned());
        Ok(Self {
            negative: !parts.positive && m != 0,
            mantissa: m,
            exponent: e,
            format,
            given,
        })
    }

    /// A quantity as it appears in a JSON object: a string (surrounding whitespace
    /// ignored, as upstream's decoder does) or a bare number.
    pub(crate) fn from_json(v: &Value) -> Result<Self, ParseError> {
        match v {
            Value::String(s) => Self::parse(s.trim()),
            Value::Number(n) => Self::parse(&n.to_string()),
            _ => Err(ParseError::Format),
        }
    }

    /// Whether the value is below zero.
    pub(crate) fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whether the value is zero.
    pub(crate) fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// Upstream's `Value()`: the amount in whole units, rounded up (away from zero),
    /// saturating far beyond any real size.
    pub(crate) fn value(&self) -> i128 {
        let magnitude = if self.exponent >= 0 {
            pow10(self.exponent as u32)
                .and_then(|p| p.checked_mul(self.mantissa))
                .map_or(i128::MAX, |v| i128::try_from(v).unwrap_or(i128::MAX))
        } else {
            let whole =
                pow10(self.exponent.unsigned_abs()).map_or(0, |p| self.mantissa.div_ceil(p));
            i128::try_from(whole).unwrap_or(i128::MAX)
        };
        if self.negative { -magnitude } else { magnitude }
    }

    /// A text equal for equal amounts whatever their format (`1Gi` and `1024Mi`).
    pub(crate) fn amount_key(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}e{}", self.mantissa, self.exponent)
    }

    /// Whether the value, rounded up to thousandths as upstream's `MilliValue`, is whole.
    pub(crate) fn is_integer(&self) -> bool {
        if self.exponent >= 0 || self.mantissa == 0 {
            return true;
        }
        if self.exponent >= -3 {
            // A normalized mantissa has no factor of ten left, so a fraction remains.
            return false;
        }
        let milli = match pow10((-3 - self.exponent) as u32) {
            Some(p) => self.mantissa.div_ceil(p),
            None => 1,
        };
        milli % 1000 == 0
    }

    /// The canonical form (upstream's `CanonicalizeBytes`), ignoring the given text.
    pub(crate) fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_owned();
        }
        let sign = if self.negative { "-" } else { "" };
        if self.format == Format::BinarySi
            && cmp_magnitude((self.mantissa, self.exponent), (1024, 0)) != Ordering::Less
            && self.exponent >= 0
            && let Some(mut n) =
                pow10(self.exponent as u32).and_then(|p| p.checked_mul(self.mantissa))
        {
            let mut k = 0;
            while n.is_multiple_of(1024) {
                n /= 1024;
                k += 1;
            }
            let suffix = BINARY_SUFFIXES
                .iter()
                .find(|(_, e)| *e == k * 10)
                .map_or("", |(s, _)| *s);
            return format!("{sign}{n}{suffix}");
        }
        let mut digits = self.mantissa.to_string();
        let mut e = self.exponent;
        while e % 3 != 0 {
            digits.push('0');
            e -= 1;
        }
        let suffix = match self.format {
            Format::DecimalExponent if e == 0 => String::new(),
            Format::DecimalExponent => format!("e{e}"),
            _ => DECIMAL_SUFFIXES
                .iter()
                .find(|(_, x)| *x == e)
                .map_or("", |(s, _)| *s)
                .to_owned(),
        };
        format!("{sign}{digits}{suffix}")
    }
}

/// Compares two non-negative values given as (mantissa without trailing zeros, exponent).
fn cmp_magnitude(a: (u128, i32), b: (u128, i32)) -> Ordering {
    match (a.0 == 0, b.0 == 0) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let (da, db) = (a.0.to_string(), b.0.to_string());
    let (ma, mb) = (da.len() as i64 + a.1 as i64, db.len() as i64 + b.1 as i64);
    if ma != mb {
        return ma.cmp(&mb);
    }
    let width = da.len().max(db.len());
    format!("{da:0<width$}").cmp(&format!("{db:0<width$}"))
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = (self.mantissa, self.exponent);
        let b = (other.mantissa, other.exponent);
        match (self.negative, other.negative) {
            (false, false) => cmp_magnitude(a, b),
            (true, true) => cmp_magnitude(b, a),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        }
    }
}

/// Upstream's `String()`: the given text when it was already canonical, else the
/// canonical form.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.given {
            Some(s) => f.write_str(s),
            None => f.write_str(&self.canonical()),
        }
    }
}

/// Rewrites every valid quantity of a resource map (`limits`, `requests`, `overhead`, …)
/// to the form upstream stores (its `String()`); invalid ones are left for validation.
pub(crate) fn canonicalize_map(map: &mut Value) {
    let Some(map) = map.as_object_mut() else {
        return;
    };
    for v in map.values_mut() {
        if let Ok(q) = Quantity::from_json(v) {
            *v = Value::String(q.to_string());
        }
    }
}

/// Rewrites the quantities of a pod spec (container resources, overhead, emptyDir size
/// limits) to upstream's stored form.
pub(crate) fn canonicalize_pod_spec(spec: &mut Value) {
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(items) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in items {
            if let Some(r) = c.get_mut("resources") {
                for key in ["limits", "requests"] {
                    if let Some(m) = r.get_mut(key) {
                        canonicalize_map(m);
                    }
                }
            }
        }
    }
    if let Some(m) = spec.get_mut("overhead") {
        canonicalize_map(m);
    }
    if let Some(m) = spec.get_mut("resources") {
        for key in ["limits", "requests"] {
            if let Some(m) = m.get_mut(key) {
                canonicalize_map(m);
            }
        }
    }
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in volumes {
            if let Some(size) = v.at_mut("/emptyDir/sizeLimit")
                && let Ok(q) = Quantity::from_json(size)
            {
                *size = Value::String(q.to_string());
            }
        }
    }
}

/// Rewrites the quantities of an object of `kind` to upstream's stored form, as its
/// decoder does: pods and pod templates, claims' requests, volumes' and nodes' capacity.
pub(crate) fn canonicalize_kind(kind: &str, obj: &mut Value) {
    let maps: &[&str] = match kind {
        "Pod" | "Deployment" | "ReplicaSet" => return canonicalize(obj),
        "PersistentVolumeClaim" => &[
            "/spec/resources/requests",
            "/spec/resources/limits",
            "/status/capacity",
            "/status/allocatedResources",
        ],
        "PersistentVolume" => &["/spec/capacity"],
        "Node" => &["/status/capacity", "/status/allocatable"],
        _ => return,
    };
    for pointer in maps {
        if let Some(m) = obj.at_mut(pointer) {
            canonicalize_map(m);
        }
    }
}

/// Rewrites the quantities of a Pod (`spec`) or of a workload's pod template
/// (`spec.template.spec`) to upstream's stored form, as its decoder does.
pub(crate) fn canonicalize(obj: &mut Value) {
    if let Some(spec) = obj.at_mut("/spec/template/spec") {
        canonicalize_pod_spec(spec);
    }
    if obj.at("/spec/containers").is_some()
        && let Some(spec) = obj.get_mut("spec")
    {
        canonicalize_pod_spec(spec);
    }
}

#[cfg(test)]
mod tests;
