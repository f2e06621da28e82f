//! Prices as people type and read them ("12.99") and as the API takes them
//! (integer cents).
//!
//! Owns the one price parser used by the catalog filter and the staff forms.
//! It must never use floating point, and imports no other module of the crate.

/// "12.99" (currency units, an optional leading "$") to cents.
pub fn price_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix('$').unwrap_or(text);
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let fraction = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        2 => fraction.parse::<i64>().ok()?,
        _ => return None,
    };
    units
        .checked_mul(100)?
        .checked_add(fraction)
        .filter(|cents| *cents <= i64::from(i32::MAX))
}

/// Cents as "12.99", the way the price field takes them.
pub fn price_units(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_in_units_become_cents() {
        assert_eq!(price_cents("12.99"), Some(1299));
        assert_eq!(price_cents("$12.5"), Some(1250));
        assert_eq!(price_cents("12"), Some(1200));
        assert_eq!(price_cents("12.50"), Some(1250));
        assert_eq!(price_cents(" 0.99 "), Some(99));
        assert_eq!(price_cents("abc"), None);
        assert_eq!(price_cents("-1"), None);
        assert_eq!(price_cents("12.345"), None);
        assert_eq!(price_cents("1.-5"), None);
        assert_eq!(price_cents("99999999999"), None);
        assert_eq!(price_units(1299), "12.99");
        assert_eq!(price_units(500), "5.00");
    }
}
