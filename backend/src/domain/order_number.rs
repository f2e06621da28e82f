//! Order numbers: what a customer reads off a receipt and types into the
//! order lookup. `BK-` and ten characters of Crockford's base 32 (digits
//! and capitals without I, L, O and U), drawn at random: 50 bits, so a
//! number says nothing about any other order and cannot be counted along.
//! Older orders keep their sequential numbers (`BK-100001`); both forms are
//! matched the same way.
//!
//! Never: draw the randomness or check which numbers are taken (the
//! database layer does both, and retries on a collision).

/// Every number starts with this.
pub const PREFIX: &str = "BK-";

/// How many random characters follow the prefix.
pub const RANDOM_CHARS: usize = 10;

/// 32 characters none of which is easily mistaken for another.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The number spelled by `random` bytes (each gives one character; 256 is
/// a multiple of 32, so every character is equally likely).
pub fn from_random_bytes(random: &[u8; RANDOM_CHARS]) -> String {
    let mut number = String::with_capacity(PREFIX.len() + RANDOM_CHARS);
    number.push_str(PREFIX);
    number.extend(
        random
            .iter()
            .map(|byte| char::from(ALPHABET[usize::from(byte % 32)])),
    );
    number
}

/// A number as typed by a person, in the form it is stored: trimmed,
/// upper-case, and after the prefix `O` read as `0`, `I` and `L` as `1`
/// (Crockford's rule), so a misread receipt still finds its order.
pub fn normalize(typed: &str) -> String {
    let upper = typed.trim().to_uppercase();
    match upper.strip_prefix(PREFIX) {
        Some(rest) => {
            let rest: String = rest
                .chars()
                .map(|c| match c {
                    'O' => '0',
                    'I' | 'L' => '1',
                    other => other,
                })
                .collect();
            format!("{PREFIX}{rest}")
        }
        None => upper,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_prefix_and_ten_unambiguous_characters() {
        let number = from_random_bytes(&[0, 1, 31, 32, 255, 200, 17, 18, 27, 100]);
        assert_eq!(number, "BK-01Z0Z8HJV4");
        let all: Vec<u8> = (0..=255).collect();
        for chunk in all.chunks(RANDOM_CHARS) {
            let mut bytes = [0u8; RANDOM_CHARS];
            bytes[..chunk.len()].copy_from_slice(chunk);
            let number = from_random_bytes(&bytes);
            assert_eq!(number.len(), 13);
            assert!(
                number[3..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() && !"ILOU".contains(c)),
                "{number}"
            );
        }
    }

    #[test]
    fn typed_numbers_are_normalized_as_stored() {
        assert_eq!(normalize("  bk-7kq2m9xw4h "), "BK-7KQ2M9XW4H");
        assert_eq!(normalize("bk-o1il0"), "BK-01110");
        assert_eq!(normalize("BK-100001"), "BK-100001");
        assert_eq!(normalize("nonsense"), "NONSENSE");
        // Only the part after the prefix is read the Crockford way.
        assert_eq!(normalize(" xx-oil"), "XX-OIL");
    }
}
