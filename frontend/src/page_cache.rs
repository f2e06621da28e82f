//! Rendered catalog pages kept in process, each with the backend's `ETag`
//! for the data it was rendered from: when the backend answers a page's
//! query with `304 Not Modified` for that tag, the page is served from its
//! copy instead of being decoded and rendered again. The backend is asked
//! every time, so a copy is never shown once its data changed.
//!
//! Bounded by bytes (`PAGE_CACHE_MIB`), least recently used first out.
//! Owns the copies only; it never decides what may be kept (that is
//! `pages::public`: anonymous visitors' pages, with the CSRF token left as
//! a placeholder) and imports no module of the crate.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderValue;
use lru::LruCache;

/// A rendered page and what it was made from.
pub struct Rendered {
    /// The backend's tag for the page's data (`ETag` of its GraphQL answer).
    pub backend_etag: Option<String>,
    /// The HTML, with the CSRF token's placeholder where a form needs one.
    pub html: Bytes,
    /// The page's own tag (of `html`).
    pub etag: HeaderValue,
    /// Whether `html` holds the placeholder: the page then carries the
    /// visitor's token and is never public.
    pub uses_csrf: bool,
}

impl Rendered {
    /// What the copy costs, roughly: its bytes plus bookkeeping.
    fn weight(&self, key: &str) -> usize {
        key.len() + self.html.len() + self.backend_etag.as_ref().map_or(0, String::len) + 128
    }
}

pub struct PageCache {
    budget: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    pages: LruCache<String, Arc<Rendered>>,
    bytes: usize,
}

impl PageCache {
    /// Keeps at most `budget` bytes of pages (0: keeps none).
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner {
                pages: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// The copy of the page at `key`, if one is kept.
    pub fn get(&self, key: &str) -> Option<Arc<Rendered>> {
        if self.budget == 0 {
            return None;
        }
        let mut inner = self.inner.lock().ok()?;
        inner.pages.get(key).cloned()
    }

    /// Keeps `page` as the copy at `key` (replacing an older one), dropping
    /// the least recently used copies beyond the budget. A page without a
    /// backend tag is not kept: it could never be confirmed.
    pub fn put(&self, key: String, page: Arc<Rendered>) {
        let weight = page.weight(&key);
        if page.backend_etag.is_none() || weight > self.budget {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some(old) = inner.pages.put(key.clone(), page) {
            inner.bytes -= old.weight(&key);
        }
        inner.bytes += weight;
        while inner.bytes > self.budget {
            match inner.pages.pop_lru() {
                Some((key, old)) => inner.bytes -= old.weight(&key),
                None => break,
            }
        }
    }

    /// How many pages are kept (tests).
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.pages.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(backend_etag: Option<&str>, bytes: usize) -> Arc<Rendered> {
        Arc::new(Rendered {
            backend_etag: backend_etag.map(str::to_owned),
            html: Bytes::from(vec![b'x'; bytes]),
            etag: HeaderValue::from_static("W/\"t\""),
            uses_csrf: false,
        })
    }

    #[test]
    fn copies_stay_within_the_budget_least_recently_used_out_first() {
        let cache = PageCache::new(3 * 1200);
        for key in ["a", "b", "c"] {
            cache.put(key.into(), page(Some("\"1\""), 1000));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get("a").is_some(), "a is now the most recently used");
        cache.put("d".into(), page(Some("\"1\""), 1000));
        assert_eq!(cache.len(), 3);
        assert!(cache.get("b").is_none(), "the least recently used went");
        assert!(cache.get("a").is_some() && cache.get("d").is_some());
        // Replacing a copy does not count it twice.
        for _ in 0..10 {
            cache.put("d".into(), page(Some("\"2\""), 1000));
        }
        assert_eq!(cache.len(), 3);
        // Too big, untagged, or no budget at all: not kept.
        cache.put("huge".into(), page(Some("\"1\""), 10_000));
        cache.put("untagged".into(), page(None, 10));
        assert!(cache.get("huge").is_none() && cache.get("untagged").is_none());
        let off = PageCache::new(0);
        off.put("a".into(), page(Some("\"1\""), 10));
        assert!(off.get("a").is_none());
    }
}
