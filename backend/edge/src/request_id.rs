//! Request ids as both services take and make them: a trusted proxy's
//! `X-Request-Id` is kept only if it is short visible ASCII; otherwise (and
//! for any other peer) a new UUID v4 is made. Where the id is carried is
//! each service's business.

use rand::TryRng;

/// The header carrying the id, both ways.
pub const HEADER: &str = "x-request-id";
/// The longest id taken from a proxy.
pub const MAX_CHARS: usize = 64;

/// A proxy's id is kept only if it is 1 to 64 visible ASCII characters.
pub fn acceptable(id: &str) -> bool {
    (1..=MAX_CHARS).contains(&id.len()) && id.bytes().all(|byte| byte.is_ascii_graphic())
}

/// A new random id (UUID v4 form).
pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    if rand::rngs::SysRng.try_fill_bytes(&mut bytes).is_err() {
        // Ids need to be distinct, not secret: the clock will do.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_uuid_v4_and_distinct() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(acceptable(&a));
    }

    #[test]
    fn only_short_visible_ascii_is_acceptable() {
        assert!(acceptable("abc-123_XYZ"));
        assert!(!acceptable(""));
        assert!(!acceptable("two words"));
        assert!(!acceptable("tab\there"));
        assert!(!acceptable("é"));
        assert!(!acceptable(&"x".repeat(65)));
    }
}
