//! Money: integer minor units (cents) of an ISO 4217 currency, never
//! floats. What a currency code looks like and how an amount is written for
//! people ("$12.99", "12.99 CHF").
//!
//! Never: compute prices or totals (the database layer does, from its
//! rows), or convert between currencies.

/// Whether `code` has the shape of an ISO 4217 code: 3 uppercase letters.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// `1299, "USD"` -> `"$12.99"`; a currency without a symbol here is
/// written after the number (`"12.99 CHF"`).
pub fn format(amount_cents: i32, currency: &str) -> String {
    let symbol = match currency {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        _ => "",
    };
    let sign = if amount_cents < 0 { "-" } else { "" };
    let cents = amount_cents.unsigned_abs();
    let number = format!("{}.{:02}", cents / 100, cents % 100);
    if symbol.is_empty() {
        format!("{sign}{number} {currency}")
    } else {
        format!("{sign}{symbol}{number}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_with_their_symbol_or_code() {
        assert_eq!(format(1299, "USD"), "$12.99");
        assert_eq!(format(5, "EUR"), "€0.05");
        assert_eq!(format(-250, "GBP"), "-£2.50");
        assert_eq!(format(1000, "CHF"), "10.00 CHF");
        assert_eq!(format(i32::MIN, "USD"), "-$21474836.48");
    }

    #[test]
    fn currency_codes_are_three_capitals() {
        assert!(is_currency_code("USD"));
        assert!(!is_currency_code("usd"));
        assert!(!is_currency_code("US"));
        assert!(!is_currency_code("USDT"));
    }
}
