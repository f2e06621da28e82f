//! The backend's userError messages ("only 3 in stock") as sentences for
//! the shopper's flash messages and forms.
//!
//! Owns only that wording; it never invents a reason the backend did not
//! give, and imports no other module of the crate.

/// A backend message as a sentence: capitalised, with a full stop.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut text: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return "That did not work. Please try again.".to_owned(),
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// Several messages as one flash message.
pub fn flash_of<'a>(messages: impl Iterator<Item = &'a str>) -> String {
    let text: Vec<String> = messages.map(sentence).collect();
    if text.is_empty() {
        "That did not work. Please try again.".to_owned()
    } else {
        text.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("only 3 in stock"), "Only 3 in stock.");
        assert_eq!(
            sentence("not possible for an order that is shipped"),
            "Not possible for an order that is shipped."
        );
        assert_eq!(sentence("Done!"), "Done!");
        assert!(!sentence("").is_empty());
        assert_eq!(flash_of(["a", "b."].into_iter()), "A. B.");
        assert_eq!(
            flash_of(std::iter::empty()),
            "That did not work. Please try again."
        );
    }
}
