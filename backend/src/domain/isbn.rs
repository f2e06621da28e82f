//! ISBNs: what a valid one is and its canonical form (the 13 digits of an
//! ISBN-13, converted from an ISBN-10 when given one). The API's input
//! check, the catalog search and the seed all use these.
//!
//! Never: decide what an invalid ISBN means to a caller (an input error,
//! or a search that is not an ISBN lookup).

/// Accepts an ISBN-13 or ISBN-10 with or without hyphens and spaces and
/// returns the canonical 13 digits, or `None` when `text` is not an ISBN.
pub fn normalize(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.len() == 13 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return is_valid_isbn13(&compact).then_some(compact);
    }
    if compact.len() == 10 {
        let (body, check) = compact.split_at(9);
        let digits_ok = body.bytes().all(|b| b.is_ascii_digit())
            && (check == "X" || check.bytes().all(|b| b.is_ascii_digit()));
        if !digits_ok {
            return None;
        }
        let sum: u32 = compact
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                let value = if b == b'X' { 10 } else { u32::from(b - b'0') };
                value * (10 - i as u32)
            })
            .sum();
        if !sum.is_multiple_of(11) {
            return None;
        }
        return Some(with_check_digit(&format!("978{body}")));
    }
    None
}

/// An ISBN-13 from its first twelve digits (a 978/979 prefix and a serial):
/// the twelve with their check digit appended.
pub fn with_check_digit(first_twelve: &str) -> String {
    let mut isbn = first_twelve.to_owned();
    isbn.push(check_digit(first_twelve));
    isbn
}

/// The ISBN-13 check digit for the first twelve digits.
fn check_digit(first_twelve: &str) -> char {
    let sum: u32 = first_twelve
        .bytes()
        .take(12)
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Whether `isbn` is 13 digits with a Bookland prefix and a matching check
/// digit.
pub fn is_valid_isbn13(isbn: &str) -> bool {
    isbn.len() == 13
        && isbn.bytes().all(|b| b.is_ascii_digit())
        && (isbn.starts_with("978") || isbn.starts_with("979"))
        && check_digit(isbn) == char::from(isbn.as_bytes()[12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn_checksums() {
        assert!(is_valid_isbn13("9780141439518"));
        assert!(!is_valid_isbn13("9780141439519"));
        assert!(!is_valid_isbn13("1234567890123"));
        assert_eq!(
            normalize("978-0-14-143951-8").as_deref(),
            Some("9780141439518")
        );
        assert_eq!(normalize("0-14-143951-3").as_deref(), Some("9780141439518"));
        assert_eq!(normalize("080442957X").as_deref(), Some("9780804429573"));
        assert_eq!(normalize("pride and prejudice"), None);
        assert_eq!(normalize("0141439519"), None);
    }

    #[test]
    fn twelve_digits_complete_to_a_valid_isbn() {
        assert_eq!(with_check_digit("978014143951"), "9780141439518");
        for serial in ["979000000000", "978100000007", "979000099999"] {
            assert!(is_valid_isbn13(&with_check_digit(serial)));
        }
    }
}
