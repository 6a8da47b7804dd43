//! The protobuf wire format: varints, keys, length-delimited fields.

use super::ProtobufError;

/// One field as read off the wire.
#[derive(Debug, Clone, Copy)]
pub(super) enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reads fields one after another.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(super) fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value: u64 = 0;
        for (i, byte) in self.data.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.data = &self.data[i + 1..];
                return Ok(value);
            }
        }
        Err(ProtobufError::Malformed(
            "a varint is truncated or too long",
        ))
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        if self.data.len() < n {
            return Err(ProtobufError::Malformed("a field runs past the end"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    /// The next field: its number and value.
    pub(super) fn field(&mut self) -> Result<(u64, Raw<'a>), ProtobufError> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 {
            return Err(ProtobufError::Malformed("field number 0"));
        }
        let raw = match key & 7 {
            0 => Raw::Varint(self.varint()?),
            1 => {
                let bytes = self.take(8)?;
                Raw::Fixed64(u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8])))
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| ProtobufError::Malformed("a length does not fit"))?;
                Raw::Bytes(self.take(len)?)
            }
            5 => {
                let bytes = self.take(4)?;
                Raw::Fixed32(u32::from_le_bytes(bytes.try_into().unwrap_or([0; 4])))
            }
            _ => return Err(ProtobufError::Malformed("an unsupported wire type (group)")),
        };
        Ok((number, raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_and_length_delimited_fields() {
        // field 1 varint 300, field 2 bytes "hi", field 3 fixed32 1
        let data = [0x08, 0xac, 0x02, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0];
        let mut r = Reader::new(&data);
        assert!(matches!(r.field().unwrap(), (1, Raw::Varint(300))));
        assert!(matches!(r.field().unwrap(), (2, Raw::Bytes(b"hi"))));
        assert!(matches!(r.field().unwrap(), (3, Raw::Fixed32(1))));
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        for data in [&[0x08, 0xff][..], &[0x12, 0x05, b'a'], &[0x0b], &[0x00]] {
            assert!(Reader::new(data).field().is_err(), "{data:?}");
        }
    }
}
