//! A book page's schema.org description for search engines: a `Book` with
//! its `Offer` (price, currency, availability), ISBN, authors and other
//! contributors, format, language, pages, publisher and publication date,
//! as JSON-LD, written so that it can never end its `<script>` element.
//!
//! Owns that mapping (the API's book, as the page's query returns it, to
//! schema.org's vocabulary) and the escaping. A leaf: it reads the book as
//! JSON and imports no module of the crate but `format`.

use serde_json::{Map, Value, json};

use crate::format;

/// The shop, as the seller of every offer.
pub const SHOP_NAME: &str = "Bookstore";

/// The `Book` (with its `Offer`) for `book`, the page query's book as JSON
/// (`title`, `isbn`, `format`, `price { amountCents currency }`,
/// `credits { role contributor { name slug } }`, …), whose page is `url`.
pub fn book(book: &Value, url: &str, public_url: &str) -> Value {
    let text = |name: &str| {
        book.get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    };
    let mut node = Map::new();
    node.insert("@context".into(), json!("https://schema.org"));
    node.insert("@type".into(), json!("Book"));
    node.insert("@id".into(), json!(format!("{url}#book")));
    node.insert("url".into(), json!(url));
    node.insert("name".into(), json!(text("title").unwrap_or_default()));
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            node.insert(name.into(), value);
        }
    };
    put(
        "alternativeHeadline",
        text("subtitle").map(|subtitle| json!(subtitle)),
    );
    put(
        "description",
        text("description").map(|description| json!(format::summary(description, 5000))),
    );
    put("isbn", text("isbn").map(|isbn| json!(isbn)));
    put(
        "bookFormat",
        text("format")
            .and_then(book_format)
            .map(|format| json!(format)),
    );
    put(
        "inLanguage",
        text("language").map(|language| json!(language)),
    );
    put(
        "numberOfPages",
        book.get("pageCount")
            .filter(|pages| pages.is_u64())
            .cloned(),
    );
    put(
        "publisher",
        text("publisher").map(|name| json!({"@type": "Organization", "name": name})),
    );
    put(
        "datePublished",
        text("publicationDate").map(|date| json!(date)),
    );
    for (role, property) in [
        ("AUTHOR", "author"),
        ("EDITOR", "editor"),
        ("TRANSLATOR", "translator"),
        ("ILLUSTRATOR", "illustrator"),
    ] {
        let people = people(book, role, public_url);
        if !people.is_empty() {
            put(property, Some(Value::Array(people)));
        }
    }
    let genres: Vec<Value> = book
        .get("genres")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|genre| genre.get("name").cloned())
        .collect();
    if !genres.is_empty() {
        put("genre", Some(Value::Array(genres)));
    }
    put("offers", offer(book, url, public_url));
    Value::Object(node)
}

/// The people credited in `role`, each a `Person` with their page.
fn people(book: &Value, role: &str, public_url: &str) -> Vec<Value> {
    book.get("credits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|credit| credit.get("role").and_then(Value::as_str) == Some(role))
        .filter_map(|credit| {
            let contributor = credit.get("contributor")?;
            let name = contributor.get("name")?.as_str()?;
            let mut person = json!({"@type": "Person", "name": name});
            if let Some(slug) = contributor.get("slug").and_then(Value::as_str) {
                person["url"] = json!(format!("{public_url}/contributors/{slug}"));
            }
            Some(person)
        })
        .collect()
}

/// The shop's offer: price (a decimal, as schema.org asks), currency,
/// availability (an archived book is discontinued).
fn offer(book: &Value, url: &str, public_url: &str) -> Option<Value> {
    let price = book.get("price")?;
    let cents = price.get("amountCents")?.as_i64()?;
    let currency = price.get("currency")?.as_str()?;
    let flag = |name: &str| book.get(name).and_then(Value::as_bool).unwrap_or(false);
    let availability = if flag("archived") {
        "Discontinued"
    } else if flag("inStock") {
        "InStock"
    } else {
        "OutOfStock"
    };
    Some(json!({
        "@type": "Offer",
        "url": url,
        "price": format::decimal_amount(cents.unsigned_abs()),
        "priceCurrency": currency,
        "availability": format!("https://schema.org/{availability}"),
        "itemCondition": "https://schema.org/NewCondition",
        "seller": {"@type": "Organization", "name": SHOP_NAME, "url": format!("{public_url}/")},
    }))
}

/// The API's format as schema.org's `BookFormatType` member.
fn book_format(format: &str) -> Option<String> {
    let member = match format {
        "HARDCOVER" => "Hardcover",
        "PAPERBACK" => "Paperback",
        "EBOOK" => "EBook",
        "AUDIOBOOK" => "AudiobookFormat",
        _ => return None,
    };
    Some(format!("https://schema.org/{member}"))
}

/// `value` as the text of a `<script type="application/ld+json">`: JSON
/// whose `<`, `>` and `&` are written as `\u003c`, `\u003e`, `\u0026`
/// (they can only occur inside strings, where the escapes mean the same),
/// so no title can close the element (`</script>`) or open a comment
/// (`<!--`); U+2028 and U+2029 likewise, for old JavaScript parsers.
pub fn script_text(value: &Value) -> String {
    let json = value.to_string();
    let mut safe = String::with_capacity(json.len());
    for character in json.chars() {
        match character {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            other => safe.push(other),
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn sample() -> Value {
        json!({
            "title": "Emma </script><script>alert(1)</script> & <!-- more",
            "subtitle": null,
            "description": "A novel.\u{2028}",
            "isbn": "9780141439587",
            "format": "PAPERBACK",
            "language": "en",
            "pageCount": 474,
            "publisher": "Penguin",
            "publicationDate": "2003-05-01",
            "inStock": true,
            "archived": false,
            "price": {"amountCents": 1299, "currency": "USD", "formatted": "$12.99"},
            "credits": [
                {"role": "AUTHOR", "contributor": {"name": "Jane Austen", "slug": "jane-austen"}},
                {"role": "EDITOR", "contributor": {"name": "Fiona Stafford", "slug": "fiona-stafford"}}
            ],
            "genres": [{"name": "Romance", "slug": "romance"}]
        })
    }

    #[test]
    fn a_book_is_described_with_its_offer() {
        let node = book(
            &sample(),
            "https://shop.test/books/emma",
            "https://shop.test",
        );
        assert_eq!(node["@type"], "Book");
        assert_eq!(node["isbn"], "9780141439587");
        assert_eq!(node["bookFormat"], "https://schema.org/Paperback");
        assert_eq!(node["numberOfPages"], 474);
        assert_eq!(node["author"][0]["name"], "Jane Austen");
        assert_eq!(
            node["author"][0]["url"],
            "https://shop.test/contributors/jane-austen"
        );
        assert_eq!(node["editor"][0]["@type"], "Person");
        assert_eq!(node["offers"]["price"], "12.99");
        assert_eq!(node["offers"]["priceCurrency"], "USD");
        assert_eq!(node["offers"]["availability"], "https://schema.org/InStock");
        assert!(node.get("alternativeHeadline").is_none());
        let mut sold_out = sample();
        sold_out["inStock"] = json!(false);
        let node = book(&sold_out, "u", "p");
        assert_eq!(
            node["offers"]["availability"],
            "https://schema.org/OutOfStock"
        );
    }

    #[test]
    fn the_script_text_cannot_end_its_element_and_means_the_same() {
        let node = book(
            &sample(),
            "https://shop.test/books/emma",
            "https://shop.test",
        );
        let text = script_text(&node);
        for forbidden in ["<", ">", "&", "\u{2028}"] {
            assert!(!text.contains(forbidden), "{forbidden} in {text}");
        }
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, node);
        assert_eq!(
            back["name"],
            "Emma </script><script>alert(1)</script> & <!-- more"
        );
    }
}
