//! Numbered pages ("page 3 of 24") over keyset cursors, without ever
//! counting rows before a cursor (no OFFSET scan of the catalog).
//!
//! A page's number travels in its address beside the cursor, with a check
//! (an HMAC of the number and the rest of the address under the storefront's
//! secret): only numbers this storefront wrote are believed. At the ends the
//! number is derived, whatever the address says: no cursor or no previous
//! page is page 1, no next page is the last (`total / size`, rounded up). A
//! number that fails its check is not shown (the page is still served: it
//! is the cursor that chose the rows), and a number past the last page is
//! "not found". A number is only ever shown: it never chooses rows.
//!
//! A leaf: imports no module of the crate.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The check written beside `page` in the address `address` (the address
/// with its filters and cursor, without the number and the check).
pub fn check(secret: &[u8], page: i64, address: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"page-number|");
    mac.update(page.to_string().as_bytes());
    mac.update(b"|");
    mac.update(address.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..12])
}

/// Whether `given` is the check of `page` at `address` (constant time).
pub fn verify(secret: &[u8], page: i64, address: &str, given: &str) -> bool {
    let expected = check(secret, page, address);
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// How many pages `total` rows make, `size` a page (at least one: an empty
/// list is one empty page).
pub fn page_count(total: i64, size: i64) -> i64 {
    if total <= 0 || size <= 0 {
        1
    } else {
        (total + size - 1) / size
    }
}

/// Rows on the last page.
pub fn last_page_size(total: i64, size: i64) -> i64 {
    if total <= 0 || size <= 0 {
        size.max(1)
    } else {
        total - (page_count(total, size) - 1) * size
    }
}

/// Where a page stands, from its connection's answer.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub has_previous: bool,
    pub has_next: bool,
    pub pages: i64,
}

/// The number to show: derived at either end, else `claimed` when its
/// check held, kept between 2 and the last but one page (the ends are
/// known); `None` when it cannot be known.
pub fn number(standing: Standing, claimed: Option<i64>) -> Option<i64> {
    if !standing.has_previous {
        return Some(1);
    }
    if !standing.has_next {
        return Some(standing.pages);
    }
    let middle = standing.pages - 1;
    claimed.map(|page| page.clamp(2, middle.max(2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"secret";

    #[test]
    fn only_written_numbers_pass_their_check() {
        let address = "/books?genre=poetry&after=abc";
        let written = check(SECRET, 3, address);
        assert!(verify(SECRET, 3, address, &written));
        assert!(!verify(SECRET, 4, address, &written), "another number");
        assert!(
            !verify(SECRET, 3, "/books?after=abc", &written),
            "another list"
        );
        assert!(!verify(b"other", 3, address, &written), "another secret");
        assert!(!verify(SECRET, 3, address, ""));
    }

    #[test]
    fn pages_are_counted_without_an_offset() {
        assert_eq!(page_count(560, 24), 24);
        assert_eq!(last_page_size(560, 24), 8);
        assert_eq!(page_count(48, 24), 2);
        assert_eq!(last_page_size(48, 24), 24);
        assert_eq!(page_count(0, 24), 1);
    }

    #[test]
    fn the_ends_are_derived_and_the_middle_believed_only_when_checked() {
        let middle = Standing {
            has_previous: true,
            has_next: true,
            pages: 24,
        };
        assert_eq!(number(middle, Some(3)), Some(3));
        assert_eq!(number(middle, None), None);
        assert_eq!(number(middle, Some(99)), Some(23), "never past the ends");
        let first = Standing {
            has_previous: false,
            ..middle
        };
        assert_eq!(number(first, Some(7)), Some(1));
        let last = Standing {
            has_next: false,
            ..middle
        };
        assert_eq!(number(last, None), Some(24));
    }
}
