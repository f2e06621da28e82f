//! How the storefront writes data for people: language names ("English",
//! not "en"), hyphenated ISBN-13s (from the ISBN agency's range data, by
//! the `isbn` crate), dates in words ("29 November 2026"), book formats
//! and order and payment statuses in one voice for shoppers and staff,
//! money with its currency symbol, years before the common era, and
//! descriptions cut to a summary. [`register`] makes each a minijinja
//! filter; the staff's choice lists take their labels from here too, so a
//! status reads the same on every page.
//!
//! Owns those words. A value it cannot read is shown as it came (never an
//! error page); it never translates (a later layer will) and imports no
//! module of the crate.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Environment, Value};

/// The book formats, as the API names them and as people read them.
pub const BOOK_FORMATS: [(&str, &str); 4] = [
    ("HARDCOVER", "Hardcover"),
    ("PAPERBACK", "Paperback"),
    ("EBOOK", "Ebook"),
    ("AUDIOBOOK", "Audiobook"),
];

/// Order statuses, as the API names them and as shoppers and staff read
/// them (the one mapping every page uses).
pub const ORDER_STATUSES: [(&str, &str); 6] = [
    ("PENDING_PAYMENT", "Awaiting payment"),
    ("PAID", "Paid"),
    ("SHIPPED", "Shipped"),
    ("DELIVERED", "Delivered"),
    ("CANCELLED", "Cancelled"),
    ("REFUNDED", "Refunded"),
];

/// Payment results, likewise.
pub const PAYMENT_STATUSES: [(&str, &str); 4] = [
    ("APPROVED", "Approved"),
    ("DECLINED", "Declined"),
    ("FAILED", "Failed"),
    ("REFUNDED", "Refunded"),
];

/// Shipping methods, named as the API's `shippingMethods` names them.
pub const SHIPPING_METHODS: [(&str, &str); 3] = [
    ("STANDARD", "Standard delivery"),
    ("EXPRESS", "Express delivery"),
    ("PICKUP", "Pick up in store"),
];

/// Makes every formatter a filter of `env`.
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("language_name", |value: Value| text(&value, language_name));
    env.add_filter("isbn", |value: Value| text(&value, isbn));
    env.add_filter("date", |value: Value| text(&value, date));
    env.add_filter("datetime", |value: Value| text(&value, datetime));
    env.add_filter("book_format", |value: Value| text(&value, book_format));
    env.add_filter("order_status", |value: Value| text(&value, order_status));
    env.add_filter("shipping_method", |value: Value| {
        text(&value, shipping_method)
    });
    env.add_filter("payment_status", |value: Value| {
        text(&value, payment_status)
    });
    env.add_filter("year", |value: Value| match i64::try_from(value.clone()) {
        Ok(number) => year(number),
        Err(_) => value.to_string(),
    });
    env.add_filter("money", |value: Value| money_value(&value));
    env.add_filter("summary", |value: Value, length: Option<usize>| {
        text(&value, |text| summary(text, length.unwrap_or(160)))
    });
}

/// `format` applied to a text value; anything else (none, a number) is
/// shown as it is.
fn text(value: &Value, format: impl Fn(&str) -> String) -> String {
    match value.as_str() {
        Some(text) => format(text),
        None if value.is_none() || value.is_undefined() => String::new(),
        None => value.to_string(),
    }
}

/// "en" → "English", "fra" → "French", "en-GB" → "English"; ISO 639's
/// reference name without its qualifier ("Modern Greek (1453-)" →
/// "Modern Greek"). An unknown code is shown as given.
pub fn language_name(code: &str) -> String {
    let primary = code.trim().split(['-', '_']).next().unwrap_or_default();
    let lower = primary.to_ascii_lowercase();
    let language = match lower.len() {
        2 => isolang::Language::from_639_1(&lower),
        3 => isolang::Language::from_639_3(&lower),
        _ => None,
    };
    match language {
        Some(language) => {
            let name = language.to_name();
            name.split(" (").next().unwrap_or(name).trim().to_owned()
        }
        None => code.to_owned(),
    }
}

/// An ISBN-13 (or ISBN-10) with its parts hyphenated as the International
/// ISBN Agency's ranges place them: "9780141439518" → "978-0-14-143951-8".
/// A number outside every registered range, or not an ISBN, stays as given.
pub fn isbn(text: &str) -> String {
    match isbn::Isbn::from_str(text.trim()) {
        Ok(number) => number
            .hyphenate()
            .map(|hyphenated| hyphenated.to_string())
            .unwrap_or_else(|_| text.to_owned()),
        Err(_) => text.to_owned(),
    }
}

/// "2026-11-29" (or an RFC 3339 moment, its UTC day) → "29 November 2026".
pub fn date(text: &str) -> String {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return day.format("%-d %B %Y").to_string();
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(moment) => moment.with_timezone(&Utc).format("%-d %B %Y").to_string(),
        Err(_) => text.to_owned(),
    }
}

/// An RFC 3339 moment → "29 November 2026, 14:05 UTC" (staff pages, where
/// the time of day matters).
pub fn datetime(text: &str) -> String {
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(moment) => moment
            .with_timezone(&Utc)
            .format("%-d %B %Y, %H:%M UTC")
            .to_string(),
        Err(_) => date(text),
    }
}

fn label(table: &[(&str, &str)], code: &str) -> String {
    table
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code.trim()))
        .map(|(_, label)| (*label).to_owned())
        .unwrap_or_else(|| capitalised(code))
}

/// A code the tables do not know ("NEW_STATE") still reads as words ("New state").
fn capitalised(code: &str) -> String {
    let words = code.trim().replace('_', " ").to_lowercase();
    let mut characters = words.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => words,
    }
}

/// "PAPERBACK" → "Paperback".
pub fn book_format(code: &str) -> String {
    label(&BOOK_FORMATS, code)
}

/// "PENDING_PAYMENT" → "Awaiting payment".
pub fn order_status(code: &str) -> String {
    label(&ORDER_STATUSES, code)
}

/// "EXPRESS" → "Express delivery".
pub fn shipping_method(code: &str) -> String {
    label(&SHIPPING_METHODS, code)
}

/// "DECLINED" → "Declined".
pub fn payment_status(code: &str) -> String {
    label(&PAYMENT_STATUSES, code)
}

/// 1818 → "1818"; -800 → "800 BC".
pub fn year(year: i64) -> String {
    if year < 0 {
        format!("{} BC", year.unsigned_abs())
    } else {
        year.to_string()
    }
}

/// An amount in cents of an ISO 4217 currency, as people read it: 1299
/// USD → "$12.99", EUR "€", GBP "£"; others after the number ("10.00 CHF").
pub fn money(amount_cents: i64, currency: &str) -> String {
    let symbol = match currency {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        _ => "",
    };
    let sign = if amount_cents < 0 { "-" } else { "" };
    let number = decimal_amount(amount_cents.unsigned_abs());
    if symbol.is_empty() {
        format!("{sign}{number} {currency}")
    } else {
        format!("{sign}{symbol}{number}")
    }
}

/// Cents as a decimal number of units: 1299 → "12.99" (schema.org's `price`).
pub fn decimal_amount(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The API's `Money` (`amountCents` and `currency`) with its symbol; its
/// `formatted` text when that is all there is.
fn money_value(value: &Value) -> String {
    let field = |name: &str| {
        value
            .get_attr(name)
            .ok()
            .filter(|field| !field.is_undefined())
    };
    let cents = field("amountCents").and_then(|cents| i64::try_from(cents).ok());
    let currency = field("currency").and_then(|code| code.as_str().map(str::to_owned));
    match (cents, currency) {
        (Some(cents), Some(currency)) => money(cents, &currency),
        _ => field("formatted")
            .map(|text| text.to_string())
            .unwrap_or_default(),
    }
}

/// `text` as one line of at most `length` characters, cut at a word with
/// "…" when it is longer (a meta description: search engines show about
/// 160 characters).
pub fn summary(text: &str, length: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= length {
        return line;
    }
    let mut kept = String::new();
    for word in words {
        let needed = kept.chars().count() + usize::from(!kept.is_empty()) + word.chars().count();
        if needed + 1 > length {
            break;
        }
        if !kept.is_empty() {
            kept.push(' ');
        }
        kept.push_str(word);
    }
    if kept.is_empty() {
        // One very long word: cut it.
        kept = line.chars().take(length.saturating_sub(1)).collect();
    }
    let kept = kept.trim_end_matches([',', ';', ':', '.', '-', '–', '—']);
    format!("{kept}…")
}

#[cfg(test)]
mod tests;
