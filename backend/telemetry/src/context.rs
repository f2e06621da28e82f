//! W3C Trace Context's `traceparent` header, read and written: version,
//! trace id (16 bytes), parent span id (8 bytes), flags, in lowercase hex
//! (`00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`). Anything
//! malformed is `None`: a bad header starts a new trace, never an error.
//! No I/O, no state.

use rand::TryRng;

/// The header, both ways.
pub const HEADER: &str = "traceparent";

/// A parsed `traceparent`: the caller's trace and its span in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
    pub sampled: bool,
}

impl TraceParent {
    /// Reads a `traceparent` value as the W3C spec says: version `00` is
    /// exactly 55 characters; a later version (not `ff`) may carry more
    /// after a `-`, of which only the version 00 part is read. All-zero
    /// ids, upper-case hex and anything else out of shape are refused.
    pub fn parse(value: &str) -> Option<Self> {
        let bytes = value.as_bytes();
        if bytes.len() < 55 {
            return None;
        }
        let version = decode::<1>(&bytes[..2])?[0];
        let exact = bytes.len() == 55;
        if version == 0xff || (version == 0 && !exact) || (!exact && bytes[55] != b'-') {
            return None;
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let trace_id = decode::<16>(&bytes[3..35])?;
        let parent_id = decode::<8>(&bytes[36..52])?;
        let flags = decode::<1>(&bytes[53..55])?[0];
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            sampled: flags & 1 == 1,
        })
    }

    /// The header value (version 00).
    pub fn header_value(&self) -> String {
        format!(
            "00-{}-{}-{}",
            hex(&self.trace_id),
            hex(&self.parent_id),
            if self.sampled { "01" } else { "00" }
        )
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `N` bytes from exactly `2 * N` lowercase hex digits.
fn decode<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |digit: u8| match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *slot = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// `N` random bytes, never all zero (an invalid id in W3C terms).
pub fn random_id<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    loop {
        if rand::rngs::SysRng.try_fill_bytes(&mut bytes).is_err() {
            // Ids need to be distinct, not secret: the clock will do.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |elapsed| elapsed.as_nanos());
            for (slot, byte) in bytes.iter_mut().zip(nanos.to_le_bytes()) {
                *slot = byte;
            }
        }
        if bytes != [0; N] {
            return bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_round_trips() {
        let parsed = TraceParent::parse(GOOD).unwrap_or_else(|| panic!("{GOOD} parses"));
        assert_eq!(hex(&parsed.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&parsed.parent_id), "00f067aa0ba902b7");
        assert!(parsed.sampled);
        assert_eq!(parsed.header_value(), GOOD);
    }

    #[test]
    fn later_versions_are_read_as_far_as_version_00_goes() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra";
        let parsed = TraceParent::parse(later).unwrap_or_else(|| panic!("{later} parses"));
        assert!(!parsed.sampled);
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é",
            "0é-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn random_ids_are_distinct_and_never_zero() {
        let (a, b) = (random_id::<16>(), random_id::<16>());
        assert_ne!(a, b);
        assert_ne!(a, [0; 16]);
    }
}
