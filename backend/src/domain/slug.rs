//! Slugs: the lowercase, hyphen-joined words in a book's, contributor's or
//! genre's URL. Derived from a title or name (transliterated, so
//! "Преступление и наказание" gets a readable slug too), checked when a
//! client gives one, and made unique with `-2`, `-3`, ... suffixes.
//!
//! Never: look up which slugs are taken (the caller does, in the database
//! or in memory).

/// The longest slug accepted (bytes; slugs are ASCII).
pub const MAX_CHARS: usize = 100;

/// Room left in a derived slug for a `-N` suffix.
const SUFFIX_ROOM: usize = 8;

/// What a derived slug is when the text has no letters or digits at all.
const FALLBACK: &str = "untitled";

/// `"The Count of Monte Cristo!"` -> `"the-count-of-monte-cristo"`;
/// `"Alice's Adventures"` -> `"alices-adventures"`; non-Latin scripts are
/// transliterated (`"Война и мир"` -> `"voina-i-mir"`).
pub fn slugify(text: &str) -> String {
    // An apostrophe joins its word ("alices", not "alice-s").
    let slug = ::slug::slugify(text.replace('\'', ""));
    if slug.is_empty() {
        FALLBACK.to_owned()
    } else {
        slug
    }
}

/// A slug derived from a name, short enough to take a `-N` suffix.
pub fn derived(name: &str) -> String {
    let slug: String = slugify(name)
        .chars()
        .take(MAX_CHARS - SUFFIX_ROOM)
        .collect();
    slug.trim_end_matches('-').to_owned()
}

/// Why a client-given slug was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlugError {
    /// Not lowercase letters and digits in words joined by single hyphens.
    Malformed,
    /// Longer than [`MAX_CHARS`].
    TooLong,
}

/// A client-given slug, trimmed, as the database accepts it:
/// `^[a-z0-9]+(-[a-z0-9]+)*$`, at most [`MAX_CHARS`].
pub fn parse(value: &str) -> Result<String, SlugError> {
    let value = value.trim();
    let well_formed = !value.is_empty()
        && value.split('-').all(|word| {
            !word.is_empty() && word.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
        });
    if !well_formed {
        Err(SlugError::Malformed)
    } else if value.len() > MAX_CHARS {
        Err(SlugError::TooLong)
    } else {
        Ok(value.to_owned())
    }
}

/// The first of `base`, `base-2`, `base-3`, ... that is not taken.
pub fn first_free(base: &str, is_taken: impl Fn(&str) -> bool) -> String {
    if !is_taken(base) {
        return base.to_owned();
    }
    (2_u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|slug| !is_taken(slug))
        .unwrap_or_else(|| format!("{base}-2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_titles_keep_their_slugs() {
        assert_eq!(
            slugify("The Count of Monte Cristo!"),
            "the-count-of-monte-cristo"
        );
        assert_eq!(
            slugify("Alice's Adventures in Wonderland"),
            "alices-adventures-in-wonderland"
        );
        assert_eq!(slugify("Les Misérables"), "les-miserables");
        assert_eq!(slugify("???"), "untitled");
    }

    #[test]
    fn other_scripts_are_transliterated() {
        assert_eq!(slugify("Война и мир"), "voina-i-mir");
        assert_eq!(slugify("Ὀδύσσεια"), "odusseia");
        assert_eq!(slugify("紅樓夢"), "hong-lou-meng");
        assert_eq!(slugify("My Ántonia"), "my-antonia");
        assert_eq!(
            derived("Преступление и наказание"),
            "prestuplenie-i-nakazanie"
        );
    }

    #[test]
    fn derived_slugs_leave_room_for_a_suffix() {
        let slug = derived(&"word ".repeat(40));
        assert!(slug.len() <= MAX_CHARS - SUFFIX_ROOM, "{slug}");
        assert!(!slug.ends_with('-'));
    }

    #[test]
    fn client_slugs_are_checked() {
        assert_eq!(parse(" emma-2 ").as_deref(), Ok("emma-2"));
        assert_eq!(parse("Emma"), Err(SlugError::Malformed));
        assert_eq!(parse("emma--2"), Err(SlugError::Malformed));
        assert_eq!(parse("-emma"), Err(SlugError::Malformed));
        assert_eq!(parse(""), Err(SlugError::Malformed));
        assert_eq!(parse(&"a".repeat(MAX_CHARS + 1)), Err(SlugError::TooLong));
    }

    #[test]
    fn free_slugs_take_the_first_unused_suffix() {
        let taken = |slugs: &'static [&'static str]| move |slug: &str| slugs.contains(&slug);
        assert_eq!(first_free("emma", taken(&[])), "emma");
        assert_eq!(first_free("emma", taken(&["emma-2", "emma-3"])), "emma");
        assert_eq!(first_free("emma", taken(&["emma"])), "emma-2");
        assert_eq!(
            first_free("emma", taken(&["emma", "emma-2", "emma-4", "emma-x"])),
            "emma-3"
        );
    }
}
