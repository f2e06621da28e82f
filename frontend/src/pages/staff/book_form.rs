//! The book form (add and edit) as staff type it: kept as text so a refused
//! form comes back exactly as it was, then checked into a `CheckedBook`.
//!
//! Owns reading the form, the checks the API would refuse a whole request
//! for (formats, dates, numbers), and the form's part of the page; range
//! and uniqueness checks are the backend's. It never talks to the backend.

use std::collections::BTreeMap;

use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use super::book_choices::Choice;
use super::book_input::{CheckedBook, Format, Role};
use super::operations::staff_book_edit;
use crate::format;
use crate::money::{price_cents, price_units};

/// The book form as submitted (or as filled in from the book): text, kept
/// as typed so a refused form comes back exactly as it was.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BookForm {
    pub(super) title: String,
    pub(super) subtitle: String,
    pub(super) description: String,
    pub(super) isbn: String,
    pub(super) format: String,
    pub(super) publisher: String,
    pub(super) publication_date: String,
    pub(super) language: String,
    pub(super) page_count: String,
    pub(super) price: String,
    pub(super) stock: String,
    /// Contributor ids credited as authors, in order.
    pub(super) authors: Vec<String>,
    /// Genre ids.
    pub(super) genres: Vec<String>,
    /// The other credits (translators, illustrators, ...), which this form
    /// shows but does not edit: `ROLE:contributor id`.
    pub(super) credits: Vec<String>,
    /// The contributor search the author list came from.
    pub(super) who: String,
}

/// The format choices (the commonest first), worded as every page words
/// them (`format::book_format`).
pub(super) const FORMATS: [&str; 4] = ["PAPERBACK", "HARDCOVER", "EBOOK", "AUDIOBOOK"];

impl BookForm {
    pub(super) fn blank(who: Option<&str>) -> Self {
        Self {
            format: "PAPERBACK".to_owned(),
            language: "en".to_owned(),
            stock: "0".to_owned(),
            who: who.unwrap_or_default().to_owned(),
            ..Self::default()
        }
    }

    pub(super) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self::default();
        for (name, value) in pairs {
            let value = value.clone();
            match name.as_str() {
                "title" => form.title = value,
                "subtitle" => form.subtitle = value,
                "description" => form.description = value,
                "isbn" => form.isbn = value,
                "format" => form.format = value,
                "publisher" => form.publisher = value,
                "publicationDate" => form.publication_date = value,
                "language" => form.language = value,
                "pageCount" => form.page_count = value,
                "price" => form.price = value,
                "stock" => form.stock = value,
                "author" => form.authors.push(value),
                "genre" => form.genres.push(value),
                "credit" => form.credits.push(value),
                "who" => form.who = value,
                _ => {}
            }
        }
        form
    }

    pub(super) fn from_book(book: &staff_book_edit::StaffBookEditBook, who: Option<&str>) -> Self {
        use staff_book_edit::ContributorRole;
        let (authors, credits) = book
            .credits
            .iter()
            .partition::<Vec<_>, _>(|credit| matches!(credit.role, ContributorRole::AUTHOR));
        Self {
            title: book.title.clone(),
            subtitle: book.subtitle.clone().unwrap_or_default(),
            description: book.description.clone(),
            isbn: book.isbn.clone(),
            format: serde_json::to_value(&book.format)
                .ok()
                .and_then(|format| format.as_str().map(str::to_owned))
                .unwrap_or_default(),
            publisher: book.publisher.clone().unwrap_or_default(),
            publication_date: book.publication_date.clone().unwrap_or_default(),
            language: book.language.clone(),
            page_count: book
                .page_count
                .map(|count| count.to_string())
                .unwrap_or_default(),
            price: price_units(book.price.amount_cents),
            stock: book.stock.to_string(),
            authors: authors
                .iter()
                .map(|credit| credit.contributor.id.clone())
                .collect(),
            genres: book.genres.iter().map(|genre| genre.id.clone()).collect(),
            credits: credits
                .iter()
                .map(|credit| {
                    let role = serde_json::to_value(&credit.role)
                        .ok()
                        .and_then(|role| role.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    format!("{role}:{}", credit.contributor.id)
                })
                .collect(),
            who: who.unwrap_or_default().to_owned(),
        }
    }

    /// The values, or a message per field that is not understood. Range
    /// and uniqueness checks are the backend's (its userErrors).
    pub(super) fn check(&self, with_stock: bool) -> Result<CheckedBook, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let mut fail = |name: &str, message: &str| {
            errors.insert(name.to_owned(), message.to_owned());
        };
        let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
        let format = match self.format.as_str() {
            "HARDCOVER" => Some(Format::Hardcover),
            "PAPERBACK" => Some(Format::Paperback),
            "EBOOK" => Some(Format::Ebook),
            "AUDIOBOOK" => Some(Format::Audiobook),
            _ => {
                fail("format", "choose a format");
                None
            }
        };
        let publication_date = optional(&self.publication_date);
        if publication_date
            .as_deref()
            .is_some_and(|date| !is_date(date))
        {
            fail(
                "publicationDate",
                "enter a date as YYYY-MM-DD, such as 2024-03-01",
            );
        }
        let page_count = match optional(&self.page_count) {
            None => None,
            Some(text) => match text.parse::<i32>() {
                Ok(count) => Some(i64::from(count)),
                Err(_) => {
                    fail("pageCount", "enter a whole number of pages");
                    None
                }
            },
        };
        let price_cents = price_cents(&self.price);
        if price_cents.is_none() {
            fail("price", "enter a price such as 12.99");
        }
        let stock = if with_stock {
            match self.stock.trim() {
                "" => Some(0),
                text => text.parse::<i32>().ok().map(i64::from),
            }
        } else {
            Some(0)
        };
        if stock.is_none() {
            fail("stock", "enter a whole number of copies");
        }
        let mut credits: Vec<(String, Role)> = self
            .authors
            .iter()
            .map(|id| (id.clone(), Role::Author))
            .collect();
        for credit in &self.credits {
            let role = match credit.split_once(':') {
                Some(("EDITOR", id)) => Some((id, Role::Editor)),
                Some(("TRANSLATOR", id)) => Some((id, Role::Translator)),
                Some(("ILLUSTRATOR", id)) => Some((id, Role::Illustrator)),
                Some(("NARRATOR", id)) => Some((id, Role::Narrator)),
                Some(("AUTHOR", id)) => Some((id, Role::Author)),
                _ => None,
            };
            match role {
                Some((id, role)) => credits.push((id.to_owned(), role)),
                None => fail(
                    "form",
                    "the form was damaged; reload the page and try again",
                ),
            }
        }
        match (format, price_cents, stock) {
            (Some(format), Some(price_cents), Some(stock)) if errors.is_empty() => {
                Ok(CheckedBook {
                    title: self.title.clone(),
                    subtitle: optional(&self.subtitle),
                    description: self.description.clone(),
                    isbn: self.isbn.clone(),
                    format,
                    publisher: optional(&self.publisher),
                    publication_date,
                    language: optional(&self.language).unwrap_or_else(|| "en".to_owned()),
                    page_count,
                    price_cents,
                    stock,
                    credits,
                    genre_ids: self.genres.clone(),
                })
            }
            _ => Err(errors),
        }
    }
}

/// The value of the first field named `name` of a submitted form.
pub(super) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD` (what the
/// API's `Date` accepts; anything else would fail the whole request).
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return false;
    };
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// userErrors as `form field -> message`, the field being the input field
/// the error names (`["input", "isbn"]` -> `isbn`); errors about no one
/// field go to `form`.
pub(super) fn errors_by_field<'a>(
    errors: impl IntoIterator<Item = (&'a [String], &'a str)>,
) -> BTreeMap<String, String> {
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    for (path, message) in errors {
        let name = match path.get(1).map(String::as_str) {
            Some("priceCents" | "currency") => "price",
            Some("contributors") => "author",
            Some("genreIds") => "genre",
            Some(
                name @ ("title" | "subtitle" | "description" | "isbn" | "format" | "publisher"
                | "publicationDate" | "language" | "pageCount" | "stock" | "delta"),
            ) => name,
            _ => "form",
        };
        by_field
            .entry(name.to_owned())
            .and_modify(|text| {
                text.push_str("; ");
                text.push_str(message);
            })
            .or_insert_with(|| message.to_owned());
    }
    by_field
}

/// The book form's part of its page: what was typed, the errors next to
/// the fields, and the lists' choices (formats, authors, genres).
pub(super) fn form_context(
    form: &BookForm,
    errors: BTreeMap<String, String>,
    authors: &[Choice],
    genres: &[Choice],
) -> Value {
    context! {
        form => Value::from(Serde(form)),
        errors,
        authors => Value::from(Serde(authors)),
        genres => Value::from(Serde(genres)),
        formats => FORMATS.map(|code| (code, format::book_format(code))),
    }
}

/// The book a write saved, or the backend's userErrors by field. (A macro:
/// each operation has its own generated payload type.)
macro_rules! saved_book {
    ($payload:expr) => {{
        let payload = $payload;
        match payload.book {
            Some(book) if payload.user_errors.is_empty() => Ok(book),
            _ => Err($crate::pages::staff::book_form::errors_by_field(
                payload
                    .user_errors
                    .iter()
                    .map(|error| (error.field.as_slice(), error.message.as_str())),
            )),
        }
    }};
}
pub(super) use saved_book;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_like_the_api_does() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("24-01-01"));
    }

    #[test]
    fn user_errors_go_next_to_their_fields() {
        let path = |parts: &[&str]| {
            parts
                .iter()
                .map(|part| (*part).to_owned())
                .collect::<Vec<_>>()
        };
        let isbn = path(&["input", "isbn"]);
        let price = path(&["input", "priceCents"]);
        let author = path(&["input", "contributors", "0", "contributorId"]);
        let whole: Vec<String> = Vec::new();
        let errors = errors_by_field([
            (isbn.as_slice(), "bad isbn"),
            (price.as_slice(), "must be more than zero"),
            (author.as_slice(), "no such contributor"),
            (whole.as_slice(), "not possible"),
        ]);
        assert_eq!(errors["isbn"], "bad isbn");
        assert_eq!(errors["price"], "must be more than zero");
        assert_eq!(errors["author"], "no such contributor");
        assert_eq!(errors["form"], "not possible");
    }
}
