//! Address parameters and form values as people type them: blank means
//! unset; and the cursors of a paged list (which page an address asks for,
//! the links to the pages next to it).
//!
//! Owns only reading and writing those values; it never talks to the
//! backend and imports no other module of the crate.

use serde::{Deserialize, Serialize};

/// A parameter that was given and is not blank, trimmed.
pub fn set(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// A form value trimmed, and `None` when empty.
pub fn given(value: &str) -> Option<String> {
    Some(value.trim())
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The cursors of a paged list's address.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PageParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// A paged list's address: the list's own parameters (`filter`: a search,
/// a status), then the cursors.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Paged<Filter> {
    #[serde(flatten)]
    pub filter: Filter,
    #[serde(flatten)]
    pub page: PageParams,
}

impl<Filter: Serialize> Paged<Filter> {
    /// The window of rows this address asks for, `size` rows a page.
    pub fn window(&self, size: i64) -> Window {
        Window::new(&self.page.after, &self.page.before, size)
    }

    /// The address `path` with these parameters but other cursors: the
    /// pagination links.
    pub fn with_cursors(
        &self,
        path: &str,
        after: Option<String>,
        before: Option<String>,
    ) -> String {
        let params = Paged {
            filter: &self.filter,
            page: PageParams { after, before },
        };
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    }
}

/// Which page of a connection an address asks for: `size` rows forwards
/// from `after`, or, when `before` is given, backwards from it.
pub struct Window {
    pub first: Option<i64>,
    pub after: Option<String>,
    pub last: Option<i64>,
    pub before: Option<String>,
}

impl Window {
    pub fn new(after: &Option<String>, before: &Option<String>, size: i64) -> Self {
        let before = set(before).map(str::to_owned);
        let backwards = before.is_some();
        Self {
            first: (!backwards).then_some(size),
            after: set(after).filter(|_| !backwards).map(str::to_owned),
            last: backwards.then_some(size),
            before,
        }
    }
}

/// The links to the next and previous pages, from a connection's
/// `pageInfo` and a function making an address of `(after, before)`. (A
/// macro: each operation has its own generated `PageInfo` type.)
macro_rules! page_links {
    ($info:expr, $link:expr) => {{
        let info = &$info;
        let link = $link;
        (
            info.has_next_page
                .then(|| link(info.end_cursor.clone(), None)),
            info.has_previous_page
                .then(|| link(None, info.start_cursor.clone())),
        )
    }};
}
pub(crate) use page_links;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset() {
        assert_eq!(set(&Some("  x ".into())), Some("x"));
        assert_eq!(set(&Some("  ".into())), None);
        assert_eq!(given(" a "), Some("a".to_owned()));
        assert_eq!(given(""), None);
    }

    #[test]
    fn windows_go_forwards_unless_asked_back() {
        let forwards = Window::new(&Some("a".into()), &None, 10);
        assert_eq!((forwards.first, forwards.last), (Some(10), None));
        assert_eq!(forwards.after.as_deref(), Some("a"));
        let backwards = Window::new(&Some("a".into()), &Some("b".into()), 10);
        assert_eq!((backwards.first, backwards.last), (None, Some(10)));
        assert_eq!(backwards.after, None);
        assert_eq!(backwards.before.as_deref(), Some("b"));
    }
}
