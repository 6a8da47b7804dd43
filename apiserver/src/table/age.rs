//! Ages as kubectl shows them: upstream's `duration.HumanDuration` ("5s", "3m10s", "2d3h").

use crate::pointer::At;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// A duration in upstream's short human form.
///
/// Under two minutes it counts seconds; then minutes (with seconds under ten minutes),
/// hours (with minutes under eight hours), days (with hours under eight days) and years
/// (with days under eight years). Up to a second in the future reads as `0s` (clock
/// skew); further in the future reads as `<invalid>`.
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_rest(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_rest(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

/// `"{big}{big_unit}{small}{small_unit}"`, leaving out a zero `small`.
fn with_rest(big: i64, big_unit: &str, small: i64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

/// An RFC 3339 timestamp (`metav1.Time` or `metav1.MicroTime`); `None` when absent or null.
pub(super) fn timestamp(v: Option<&Value>) -> Option<Timestamp> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<Timestamp>().ok())
}

/// How long ago `t` was, or `<unknown>` without a time.
pub(super) fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".to_owned(),
    }
}

/// How long ago the timestamp at a JSON pointer was, or `<unknown>`.
pub(super) fn since_at(obj: &Value, ptr: &str, now: Timestamp) -> String {
    since(timestamp(obj.at(ptr)), now)
}

/// The AGE cell: time since `metadata.creationTimestamp`.
pub(super) fn age(obj: &Value, now: Timestamp) -> Value {
    Value::String(since_at(obj, "/metadata/creationTimestamp", now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(secs: i64) -> String {
        human_duration(SignedDuration::from_secs(secs))
    }

    #[test]
    fn human_durations_match_upstream() {
        assert_eq!(h(-5), "<invalid>");
        assert_eq!(h(-2), "<invalid>");
        assert_eq!(human_duration(SignedDuration::from_millis(-1500)), "0s");
        assert_eq!(h(-1), "0s");
        assert_eq!(h(0), "0s");
        assert_eq!(h(5), "5s");
        assert_eq!(h(119), "119s");
        assert_eq!(h(120), "2m");
        assert_eq!(h(190), "3m10s");
        assert_eq!(h(599), "9m59s");
        assert_eq!(h(600), "10m");
        assert_eq!(h(179 * 60 + 59), "179m");
        assert_eq!(h(3 * 3600), "3h");
        assert_eq!(h(3 * 3600 + 5 * 60 + 9), "3h5m");
        assert_eq!(h(8 * 3600 + 59 * 60), "8h");
        assert_eq!(h(47 * 3600), "47h");
        assert_eq!(h(51 * 3600), "2d3h");
        assert_eq!(h(72 * 3600 + 10), "3d");
        assert_eq!(h(8 * 86400), "8d");
        assert_eq!(h(729 * 86400), "729d");
        assert_eq!(h(730 * 86400), "2y");
        assert_eq!(h(731 * 86400), "2y1d");
        assert_eq!(h(9 * 365 * 86400 + 40 * 86400), "9y");
    }

    #[test]
    fn since_handles_missing_and_future() {
        let now: Timestamp = "2024-05-01T12:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let obj = serde_json::json!({"metadata": {"creationTimestamp": "2024-05-01T11:56:50Z"}});
        assert_eq!(age(&obj, now), Value::from("3m10s"));
        assert_eq!(age(&serde_json::json!({}), now), Value::from("<unknown>"));
        let future = serde_json::json!({"metadata": {"creationTimestamp": "2024-05-01T12:01:00Z"}});
        assert_eq!(age(&future, now), Value::from("<invalid>"));
        let micro = serde_json::json!({"t": "2024-05-01T11:59:55.123456Z"});
        assert_eq!(since_at(&micro, "/t", now), "4s");
    }
}
