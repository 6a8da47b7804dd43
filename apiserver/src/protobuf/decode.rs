//! Messages to JSON, the way the Go types would serialise after a protobuf decode.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::ProtobufError;
use super::schema::{Field, Scalar, Type, messages};
use super::wire::{Raw, Reader};

/// Fields that are `*string` in Go, where an empty string is a value and not "unset".
const EMPTY_STRING_IS_A_VALUE: &[(&str, &str)] = &[(
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
    "storageClassName",
)];

const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
const DURATION: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Duration";
const FIELDS_V1: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";

/// Decodes `data` as message `name` into a JSON value (`None`: the Go value is unset, as a
/// zero time).
pub(super) fn message(name: &str, data: &[u8]) -> Result<Option<Value>, ProtobufError> {
    match name {
        TIME | MICRO_TIME => time(name == MICRO_TIME, data),
        DURATION => Ok(Some(Value::String(duration(int_field(data, 1)?)))),
        QUANTITY => {
            let text = string_field(data, 1)?;
            Ok(Some(Value::String(if text.is_empty() {
                "0".into()
            } else {
                text
            })))
        }
        INT_OR_STRING => {
            if int_field(data, 1)? == 1 {
                Ok(Some(Value::String(string_field(data, 3)?)))
            } else {
                Ok(Some(Value::from(int_field(data, 2)?)))
            }
        }
        FIELDS_V1 | RAW_EXTENSION => {
            let raw = bytes_field(data, 1)?;
            if raw.is_empty() {
                return Ok(None);
            }
            serde_json::from_slice(raw)
                .map(Some)
                .map_err(|_| ProtobufError::Malformed("an embedded object is not JSON"))
        }
        _ => {
            let mut object = Map::new();
            fields_into(name, data, &mut object)?;
            Ok(Some(Value::Object(object)))
        }
    }
}

/// Decodes the fields of message `name` into `object` (embedded messages inline theirs).
fn fields_into(
    name: &str,
    data: &[u8],
    object: &mut Map<String, Value>,
) -> Result<(), ProtobufError> {
    let fields = messages()
        .get(name)
        .ok_or_else(|| ProtobufError::UnknownMessage(name.to_owned()))?;
    let mut reader = Reader::new(data);
    while !reader.is_empty() {
        let (number, raw) = reader.field()?;
        // Fields this server does not know are ignored, as upstream's decoder does.
        let Some(field) = fields.get(&number) else {
            continue;
        };
        put(name, field, raw, object)?;
    }
    Ok(())
}

fn put(
    message_name: &str,
    field: &Field,
    raw: Raw<'_>,
    object: &mut Map<String, Value>,
) -> Result<(), ProtobufError> {
    match &field.ty {
        Type::Repeated(item) => {
            let list = object
                .entry(field.json)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(list) = list else {
                return Err(ProtobufError::Malformed("a field is both repeated and not"));
            };
            match (item.as_ref(), raw) {
                // Packed repeated numbers.
                (Type::Scalar(s), Raw::Bytes(bytes)) if packable(*s) => {
                    let mut packed = Reader::new(bytes);
                    while !packed.is_empty() {
                        let value = match s {
                            Scalar::Double | Scalar::Uint64 => {
                                Raw::Fixed64(u64::from_le_bytes(fixed::<8>(&mut packed)?))
                            }
                            Scalar::Float => {
                                Raw::Fixed32(u32::from_le_bytes(fixed::<4>(&mut packed)?))
                            }
                            _ => Raw::Varint(packed.varint()?),
                        };
                        list.push(value_of(item, value)?.unwrap_or(Value::Null));
                    }
                }
                _ => list.push(value_of(item, raw)?.unwrap_or(Value::Null)),
            }
        }
        Type::Map(value_type) => {
            let Raw::Bytes(entry) = raw else {
                return Err(ProtobufError::Malformed("a map entry is not a message"));
            };
            let (key, value) = map_entry(value_type, entry)?;
            let map = object
                .entry(field.json)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = map {
                map.insert(key, value.unwrap_or(Value::Null));
            }
        }
        Type::Message(inner) if field.json == "*" => {
            let Raw::Bytes(bytes) = raw else {
                return Err(ProtobufError::Malformed("an embedded message is not bytes"));
            };
            fields_into(inner, bytes, object)?;
        }
        ty => match value_of(ty, raw)? {
            Some(Value::String(s))
                if s.is_empty()
                    && !EMPTY_STRING_IS_A_VALUE.contains(&(message_name, field.json)) =>
            {
                // Go cannot tell "" from unset for a plain string; neither do we.
                object.remove(field.json);
            }
            Some(value) => {
                object.insert(field.json.to_owned(), value);
            }
            None => {
                object.remove(field.json);
            }
        },
    }
    Ok(())
}

fn packable(s: Scalar) -> bool {
    !matches!(s, Scalar::String | Scalar::Bytes)
}

fn fixed<const N: usize>(reader: &mut Reader<'_>) -> Result<[u8; N], ProtobufError> {
    reader
        .take(N)?
        .try_into()
        .map_err(|_| ProtobufError::Malformed("a packed value is truncated"))
}

fn map_entry(value_type: &Type, entry: &[u8]) -> Result<(String, Option<Value>), ProtobufError> {
    let mut key = String::new();
    let mut value = None;
    let mut reader = Reader::new(entry);
    while !reader.is_empty() {
        match reader.field()? {
            (1, Raw::Bytes(bytes)) => key = utf8(bytes)?,
            (2, raw) => value = value_of(value_type, raw)?,
            _ => {}
        }
    }
    if value.is_none() {
        // An absent value is the zero value of its type.
        value = match value_type {
            Type::Scalar(Scalar::String | Scalar::Bytes) => Some(Value::String(String::new())),
            Type::Message(name) => message(name, &[])?,
            _ => Some(Value::from(0)),
        };
    }
    Ok((key, value))
}

fn value_of(ty: &Type, raw: Raw<'_>) -> Result<Option<Value>, ProtobufError> {
    let mismatch = || ProtobufError::Malformed("a field has the wrong wire type");
    Ok(match (ty, raw) {
        (Type::Message(name), Raw::Bytes(bytes)) => return message(name, bytes),
        (Type::Scalar(Scalar::String), Raw::Bytes(bytes)) => Some(Value::String(utf8(bytes)?)),
        (Type::Scalar(Scalar::Bytes), Raw::Bytes(bytes)) => Some(Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
        (Type::Scalar(Scalar::Bool), Raw::Varint(v)) => Some(Value::Bool(v != 0)),
        // Truncation to the declared width is protobuf's own rule for int32.
        (Type::Scalar(Scalar::Int32), Raw::Varint(v)) => Some(Value::from(v as i32)),
        (Type::Scalar(Scalar::Int64), Raw::Varint(v)) => Some(Value::from(v as i64)),
        (Type::Scalar(Scalar::Uint32), Raw::Varint(v)) => Some(Value::from(v as u32)),
        (Type::Scalar(Scalar::Uint64), Raw::Varint(v)) => Some(Value::from(v)),
        (Type::Scalar(Scalar::Double), Raw::Fixed64(v)) => {
            Number::from_f64(f64::from_bits(v)).map(Value::Number)
        }
        (Type::Scalar(Scalar::Float), Raw::Fixed32(v)) => {
            Number::from_f64(f64::from(f32::from_bits(v))).map(Value::Number)
        }
        _ => return Err(mismatch()),
    })
}

fn utf8(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::Malformed("a string is not UTF-8"))
}

/// The last value of varint field `number` (0 when absent).
fn int_field(data: &[u8], number: u64) -> Result<i64, ProtobufError> {
    let mut out = 0;
    let mut reader = Reader::new(data);
    while !reader.is_empty() {
        if let (n, Raw::Varint(v)) = reader.field()?
            && n == number
        {
            out = v as i64;
        }
    }
    Ok(out)
}

fn bytes_field(data: &[u8], number: u64) -> Result<&[u8], ProtobufError> {
    let mut out: &[u8] = &[];
    let mut reader = Reader::new(data);
    while !reader.is_empty() {
        if let (n, Raw::Bytes(v)) = reader.field()?
            && n == number
        {
            out = v;
        }
    }
    Ok(out)
}

fn string_field(data: &[u8], number: u64) -> Result<String, ProtobufError> {
    utf8(bytes_field(data, number)?)
}

/// A `Time` (RFC 3339, seconds) or `MicroTime` (microseconds); the zero time is unset.
fn time(micro: bool, data: &[u8]) -> Result<Option<Value>, ProtobufError> {
    let seconds = int_field(data, 1)?;
    let nanos = int_field(data, 2)?;
    if seconds == 0 && nanos == 0 {
        return Ok(None);
    }
    let ts = jiff::Timestamp::new(seconds, i32::try_from(nanos).unwrap_or(0))
        .map_err(|_| ProtobufError::Malformed("a timestamp is out of range"))?;
    let text = if micro {
        ts.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
    } else {
        crate::object::format_time(ts)
    };
    Ok(Some(Value::String(text)))
}

/// Nanoseconds as Go prints a `time.Duration` (`1h2m3.5s`, `150ms`, `0s`).
fn duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (value, unit) = match n {
            n if n < 1_000 => (n as f64, "ns"),
            n if n < 1_000_000 => (n as f64 / 1e3, "µs"),
            n => (n as f64 / 1e6, "ms"),
        };
        return format!("{sign}{value}{unit}");
    }
    let hours = n / 3_600_000_000_000;
    let minutes = n / 60_000_000_000 % 60;
    let seconds = (n % 60_000_000_000) as f64 / 1e9;
    let mut out = sign.to_owned();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{seconds}s"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(150_000_000), "150ms");
        assert_eq!(duration(90_000_000_000), "1m30s");
        assert_eq!(duration(3_723_500_000_000), "1h2m3.5s");
    }

    #[test]
    fn zero_time_is_unset_and_times_are_rfc3339() {
        assert_eq!(time(false, &[]).unwrap(), None);
        // seconds = 1700000000
        let data = [0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06];
        assert_eq!(
            time(false, &data).unwrap(),
            Some(Value::String("2023-11-14T22:13:20Z".into()))
        );
    }
}
