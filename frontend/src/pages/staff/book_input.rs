//! A checked book form as the API's inputs (`createBook`, `updateBook`).
//!
//! Owns the mapping of the storefront's format and role to each
//! operation's generated enums; it never checks values (`book_form` does).

use super::operations::{staff_create_book, staff_update_book};

/// The checked form, ready for the API.
pub(super) struct CheckedBook {
    pub(super) title: String,
    pub(super) subtitle: Option<String>,
    pub(super) description: String,
    pub(super) isbn: String,
    pub(super) format: Format,
    pub(super) publisher: Option<String>,
    pub(super) publication_date: Option<String>,
    pub(super) language: String,
    pub(super) page_count: Option<i64>,
    pub(super) price_cents: i64,
    pub(super) stock: i64,
    pub(super) credits: Vec<(String, Role)>,
    pub(super) genre_ids: Vec<String>,
}

#[derive(Clone, Copy)]
pub(super) enum Format {
    Hardcover,
    Paperback,
    Ebook,
    Audiobook,
}

#[derive(Clone, Copy)]
pub(super) enum Role {
    Author,
    Editor,
    Translator,
    Illustrator,
    Narrator,
}

/// Maps the storefront's format and role to a query module's enums.
macro_rules! api_enums {
    ($module:ident) => {
        impl Format {
            #[allow(dead_code)]
            fn $module(self) -> $module::BookFormat {
                match self {
                    Format::Hardcover => $module::BookFormat::HARDCOVER,
                    Format::Paperback => $module::BookFormat::PAPERBACK,
                    Format::Ebook => $module::BookFormat::EBOOK,
                    Format::Audiobook => $module::BookFormat::AUDIOBOOK,
                }
            }
        }
        impl Role {
            #[allow(dead_code)]
            fn $module(self) -> $module::ContributorRole {
                match self {
                    Role::Author => $module::ContributorRole::AUTHOR,
                    Role::Editor => $module::ContributorRole::EDITOR,
                    Role::Translator => $module::ContributorRole::TRANSLATOR,
                    Role::Illustrator => $module::ContributorRole::ILLUSTRATOR,
                    Role::Narrator => $module::ContributorRole::NARRATOR,
                }
            }
        }
    };
}

api_enums!(staff_create_book);
api_enums!(staff_update_book);

impl CheckedBook {
    pub(super) fn create_input(self) -> staff_create_book::CreateBookInput {
        staff_create_book::CreateBookInput {
            title: self.title,
            subtitle: self.subtitle,
            description: Some(self.description),
            isbn: self.isbn,
            format: self.format.staff_create_book(),
            publisher: self.publisher,
            publication_date: self.publication_date,
            language: self.language,
            page_count: self.page_count,
            price_cents: self.price_cents,
            currency: "USD".to_owned(),
            stock: self.stock,
            contributors: Some(
                self.credits
                    .into_iter()
                    .map(|(contributor_id, role)| staff_create_book::CreditInput {
                        contributor_id,
                        role: role.staff_create_book(),
                    })
                    .collect(),
            ),
            genre_ids: Some(self.genre_ids),
            slug: None,
        }
    }

    /// Every field of the form: what the form shows is what the book becomes
    /// (blank optional fields clear). Stock is not here: `adjustStock`.
    pub(super) fn update_input(self, id: String) -> staff_update_book::UpdateBookInput {
        staff_update_book::UpdateBookInput {
            id,
            title: Some(self.title),
            subtitle: self.subtitle,
            description: Some(self.description),
            isbn: Some(self.isbn),
            format: Some(self.format.staff_update_book()),
            publisher: self.publisher,
            publication_date: self.publication_date,
            language: Some(self.language),
            page_count: self.page_count,
            price_cents: Some(self.price_cents),
            currency: None,
            contributors: Some(
                self.credits
                    .into_iter()
                    .map(|(contributor_id, role)| staff_update_book::CreditInput {
                        contributor_id,
                        role: role.staff_update_book(),
                    })
                    .collect(),
            ),
            genre_ids: Some(self.genre_ids),
            slug: None,
        }
    }
}
