//! Relay cursor connections: `first/after`, `last/before`, `pageInfo`,
//! `totalCount`, with opaque cursors (base64url) of two kinds:
//! - keyset cursors (book lists): the list's module writes what a cursor
//!   holds (its order, sort key and id) and seeks from it; this module
//!   checks the page size and direction ([`PageArgs::span`]) and assembles
//!   the page ([`Page::keyed`]);
//! - offset cursors (`pos:<n>`, lists that are not books: orders,
//!   contributors), where a page is an offset window ([`PageArgs::window`]).
//!
//! Never: import a domain module.

use async_graphql::SimpleObject;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::Error;

/// The largest page a client may ask for (the smallest is 1).
pub const MAX_PAGE_SIZE: i32 = 100;
/// The largest position a cursor may hold: far past any list, and far from
/// where offset arithmetic could overflow.
const MAX_POSITION: i64 = i32::MAX as i64;
/// Cuts `ids` (fetched with one extra, to learn whether more follow) to the
/// window and says whether more follow.
pub fn split_extra<T>(ids: &mut Vec<T>, window: Window) -> bool {
    let limit = usize::try_from(window.limit).unwrap_or(0);
    let more = ids.len() > limit;
    ids.truncate(limit);
    more
}

/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Complexity of a paginated field: the page size times the cost of one item.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(0, MAX_PAGE_SIZE);
    1 + usize::try_from(size).unwrap_or(0) * child_complexity
}

#[derive(Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// A keyset page's size and direction: the first `size` items (after
/// `after`), or, when `backward`, the last `size` (before `before`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub size: i64,
    pub backward: bool,
}

/// Which slice of the ordered list a page covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

impl PageArgs {
    /// Whether the window can only be placed once the total is known
    /// (`last` without `before` counts back from the end).
    pub fn needs_total(&self) -> bool {
        self.last.is_some() && self.before.is_none()
    }

    /// `first` and `last`, checked: each within 1..=[`MAX_PAGE_SIZE`], not
    /// both.
    fn sizes(&self) -> Result<(Option<i64>, Option<i64>), Error> {
        let check = |name: &str, value: Option<i32>| match value {
            Some(size) if !(1..=MAX_PAGE_SIZE).contains(&size) => Err(Error::BadUserInput(
                format!("`{name}` must be between 1 and {MAX_PAGE_SIZE}"),
            )),
            _ => Ok(value.map(i64::from)),
        };
        let first = check("first", self.first)?;
        let last = check("last", self.last)?;
        if first.is_some() && last.is_some() {
            return Err(Error::BadUserInput(
                "pass either `first` or `last`, not both".to_owned(),
            ));
        }
        Ok((first, last))
    }

    /// Validates the sizes of a keyset page (the list's module decodes the
    /// cursors): `last` reads backward, anything else forward, 20 by default.
    pub fn span(&self) -> Result<Span, Error> {
        Ok(match self.sizes()? {
            (_, Some(last)) => Span {
                size: last,
                backward: true,
            },
            (first, None) => Span {
                size: first.unwrap_or(i64::from(DEFAULT_PAGE_SIZE)),
                backward: false,
            },
        })
    }

    /// Validates the arguments and turns them into an offset window; `total`
    /// is required only when [`Self::needs_total`].
    pub fn window(&self, total: Option<i64>) -> Result<Window, Error> {
        let (first, last) = self.sizes()?;
        let start = match &self.after {
            Some(cursor) => decode_cursor(cursor)? + 1,
            None => 0,
        };
        let end = match &self.before {
            Some(cursor) => Some(decode_cursor(cursor)?),
            None => None,
        };
        let window = match last {
            Some(last) => {
                let end = end.or(total).unwrap_or(0);
                let offset = start.max(end - last);
                Window {
                    offset,
                    limit: (end - offset).max(0),
                }
            }
            None => {
                let size = first.unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
                let limit = match end {
                    Some(end) => size.min(end - start).max(0),
                    None => size,
                };
                Window {
                    offset: start,
                    limit,
                }
            }
        };
        Ok(window)
    }
}

/// An opaque cursor holding `text`.
pub fn encode_opaque(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// The text an opaque cursor holds (`None` when it is not one).
pub fn decode_opaque(cursor: &str) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

pub fn encode_cursor(position: i64) -> String {
    encode_opaque(&format!("pos:{position}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, Error> {
    decode_opaque(cursor)
        .and_then(|text| {
            text.strip_prefix("pos:")
                .and_then(|n| n.parse::<i64>().ok())
        })
        .filter(|position| (0..=MAX_POSITION).contains(position))
        .ok_or_else(|| Error::BadUserInput(format!("invalid cursor {cursor:?}")))
}

#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// One page of items with their cursors, from which the typed connection
/// objects are built.
pub struct Page<T> {
    pub items: Vec<T>,
    pub cursors: Vec<String>,
    pub page_info: PageInfo,
    pub total_count: i32,
}

impl<T> Page<T> {
    /// A keyset page: `items` in list order with their `cursors`.
    pub fn keyed(
        items: Vec<T>,
        cursors: Vec<String>,
        has_previous_page: bool,
        has_next_page: bool,
        total: Option<i64>,
    ) -> Self {
        let page_info = PageInfo {
            has_next_page,
            has_previous_page,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        };
        Self {
            items,
            cursors,
            page_info,
            total_count: total.map_or(0, |total| i32::try_from(total).unwrap_or(i32::MAX)),
        }
    }

    /// `items` are the window's items; `more_after` whether any follow.
    pub fn new(items: Vec<T>, window: Window, total: Option<i64>, more_after: bool) -> Self {
        let cursors: Vec<String> = (window.offset..)
            .take(items.len())
            .map(encode_cursor)
            .collect();
        let page_info = PageInfo {
            has_next_page: more_after,
            has_previous_page: window.offset > 0,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        };
        Self {
            items,
            cursors,
            page_info,
            total_count: total.map_or(0, |total| i32::try_from(total).unwrap_or(i32::MAX)),
        }
    }
}

/// Declares `$connection` and `$edge` for `$node` (async-graphql cannot
/// derive a generic connection whose edges are generic too). Invoked next to
/// each node type, so this module imports no domain module.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(async_graphql::SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            /// The same items as `edges`, without cursors.
            pub nodes: Vec<$node>,
            pub page_info: $crate::graphql::pagination::PageInfo,
            /// How many items match, across all pages.
            pub total_count: i32,
        }

        impl From<$crate::graphql::pagination::Page<$node>> for $connection {
            fn from(page: $crate::graphql::pagination::Page<$node>) -> Self {
                Self {
                    edges: page
                        .cursors
                        .into_iter()
                        .zip(page.items.iter().cloned())
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                    nodes: page.items,
                    page_info: page.page_info,
                    total_count: page.total_count,
                }
            }
        }
    };
}

pub(crate) use connection;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        first: Option<i32>,
        after: Option<i64>,
        last: Option<i32>,
        before: Option<i64>,
    ) -> PageArgs {
        PageArgs {
            first,
            after: after.map(encode_cursor),
            last,
            before: before.map(encode_cursor),
        }
    }

    #[test]
    fn windows() {
        let window = |a: PageArgs, total| a.window(total).ok();
        assert_eq!(
            window(args(None, None, None, None), None),
            Some(Window {
                offset: 0,
                limit: 20
            })
        );
        assert_eq!(
            window(args(Some(5), Some(9), None, None), None),
            Some(Window {
                offset: 10,
                limit: 5
            })
        );
        assert_eq!(
            window(args(Some(50), Some(9), None, Some(15)), None),
            Some(Window {
                offset: 10,
                limit: 5
            })
        );
        assert_eq!(
            window(args(None, None, Some(3), Some(10)), None),
            Some(Window {
                offset: 7,
                limit: 3
            })
        );
        assert_eq!(
            window(args(None, None, Some(3), None), Some(8)),
            Some(Window {
                offset: 5,
                limit: 3
            })
        );
        assert_eq!(
            window(args(None, None, Some(30), Some(10)), None),
            Some(Window {
                offset: 0,
                limit: 10
            })
        );
        assert_eq!(window(args(Some(101), None, None, None), None), None);
        assert_eq!(window(args(Some(-1), None, None, None), None), None);
        assert_eq!(window(args(Some(1), None, Some(1), None), None), None);
        let bad = PageArgs {
            after: Some("nonsense".into()),
            ..PageArgs::default()
        };
        assert!(bad.window(None).is_err());
    }
}
