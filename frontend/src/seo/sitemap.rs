//! The sitemap protocol's XML (sitemaps.org 0.9): a `<urlset>` of the
//! shop's public addresses, each with its `<lastmod>` where known, and —
//! past `max_urls` addresses (the protocol allows 50,000 per file) — a
//! `<sitemapindex>` at `/sitemap.xml` naming the files `/sitemaps/N.xml`
//! that hold them in order.
//!
//! A built sitemap is kept ([`Cache`]) for `SITEMAP_CACHE_SECS`: one
//! request builds it while the others wait for it (one build at a time),
//! and when a rebuild fails the previous one is served and tried again a
//! minute later.
//!
//! Owns the XML, the split and the kept copy; what is listed is
//! `pages::seo`'s. Imports no module of the crate but `conditional` (each
//! file's `ETag`).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderValue;
use tokio::sync::Mutex;

use crate::conditional;

/// One address: a path under `PUBLIC_URL`, and when it last changed
/// (W3C datetime, as the API gives it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub lastmod: Option<String>,
}

/// Every file of a sitemap, written once: `/sitemap.xml` and, when it is an
/// index, the files it names.
#[derive(Debug)]
pub struct Files {
    pub root: String,
    /// `/sitemaps/1.xml` is `parts[0]`; empty when the root lists the addresses.
    pub parts: Vec<String>,
}

/// A file as served: its bytes and their `ETag`.
#[derive(Debug, Clone)]
pub struct Document {
    pub xml: Bytes,
    pub etag: HeaderValue,
}

/// The files of a built sitemap: `documents[0]` is `/sitemap.xml`,
/// `documents[n]` is `/sitemaps/n.xml`.
#[derive(Debug)]
pub struct Built {
    pub documents: Vec<Document>,
}

impl From<Files> for Built {
    fn from(files: Files) -> Self {
        let documents = std::iter::once(files.root)
            .chain(files.parts)
            .map(|xml| Document {
                etag: conditional::etag(xml.as_bytes()),
                xml: Bytes::from(xml),
            })
            .collect();
        Self { documents }
    }
}

/// The kept sitemap (see the module docs).
pub struct Cache {
    kept: Mutex<Option<Kept>>,
    max_age: Duration,
}

struct Kept {
    built: Arc<Built>,
    refresh_at: Instant,
}

/// After a failed rebuild, the old sitemap is served this long before the
/// next try.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

impl Cache {
    pub fn new(max_age: Duration) -> Self {
        Self {
            kept: Mutex::new(None),
            max_age,
        }
    }

    /// The kept sitemap while it is fresh; otherwise `build`'s (only one
    /// caller builds; the others wait and get its result). A failed build
    /// with an older sitemap kept serves that one; without one, its error.
    pub async fn get<E: std::fmt::Display>(
        &self,
        build: impl Future<Output = Result<Built, E>>,
    ) -> Result<Arc<Built>, E> {
        let mut kept = self.kept.lock().await;
        if let Some(kept) = kept
            .as_ref()
            .filter(|kept| Instant::now() < kept.refresh_at)
        {
            return Ok(Arc::clone(&kept.built));
        }
        match build.await {
            Ok(built) => {
                let built = Arc::new(built);
                *kept = Some(Kept {
                    built: Arc::clone(&built),
                    refresh_at: Instant::now() + self.max_age,
                });
                Ok(built)
            }
            Err(error) => match kept.as_mut() {
                Some(old) => {
                    tracing::warn!(%error, "the sitemap could not be rebuilt: serving the previous one");
                    old.refresh_at = Instant::now() + RETRY_AFTER_FAILURE.min(self.max_age);
                    Ok(Arc::clone(&old.built))
                }
                None => Err(error),
            },
        }
    }
}

/// The sitemap of `entries`, split into files of at most `max_urls`.
pub fn files(public_url: &str, entries: &[Entry], max_urls: usize) -> Files {
    let max_urls = max_urls.max(1);
    if entries.len() <= max_urls {
        return Files {
            root: urlset(public_url, entries),
            parts: Vec::new(),
        };
    }
    let parts: Vec<String> = entries
        .chunks(max_urls)
        .map(|chunk| urlset(public_url, chunk))
        .collect();
    let lastmods: Vec<Option<&str>> = entries
        .chunks(max_urls)
        .map(|chunk| {
            chunk
                .iter()
                .filter_map(|entry| entry.lastmod.as_deref())
                .max()
        })
        .collect();
    Files {
        root: index(public_url, &lastmods),
        parts,
    }
}

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const NAMESPACE: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

fn urlset(public_url: &str, entries: &[Entry]) -> String {
    let mut xml = format!("{HEADER}<urlset xmlns=\"{NAMESPACE}\">\n");
    for entry in entries {
        xml.push_str("<url><loc>");
        xml.push_str(&escape(&format!("{public_url}{}", entry.path)));
        xml.push_str("</loc>");
        if let Some(lastmod) = &entry.lastmod {
            xml.push_str("<lastmod>");
            xml.push_str(&escape(lastmod));
            xml.push_str("</lastmod>");
        }
        xml.push_str("</url>\n");
    }
    xml.push_str("</urlset>\n");
    xml
}

/// The index naming `/sitemaps/1.xml` … with each file's newest `lastmod`.
fn index(public_url: &str, lastmods: &[Option<&str>]) -> String {
    let mut xml = format!("{HEADER}<sitemapindex xmlns=\"{NAMESPACE}\">\n");
    for (number, lastmod) in lastmods.iter().enumerate() {
        xml.push_str("<sitemap><loc>");
        xml.push_str(&escape(&format!(
            "{public_url}/sitemaps/{}.xml",
            number + 1
        )));
        xml.push_str("</loc>");
        if let Some(lastmod) = lastmod {
            xml.push_str("<lastmod>");
            xml.push_str(&escape(lastmod));
            xml.push_str("</lastmod>");
        }
        xml.push_str("</sitemap>\n");
    }
    xml.push_str("</sitemapindex>\n");
    xml
}

/// XML's five special characters as entities (an address may hold `&`).
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn built(text: &str) -> Built {
        Built::from(Files {
            root: text.to_owned(),
            parts: Vec::new(),
        })
    }

    #[tokio::test]
    async fn a_kept_sitemap_is_served_until_it_is_old_and_after_a_failed_rebuild() {
        let cache = Cache::new(Duration::from_millis(50));
        let first = cache
            .get(async { Ok::<_, String>(built("one")) })
            .await
            .unwrap();
        let kept = cache
            .get(async { Err::<Built, _>("not asked".to_owned()) })
            .await
            .unwrap();
        assert_eq!(kept.documents[0].xml, first.documents[0].xml);
        tokio::time::sleep(Duration::from_millis(60)).await;
        let stale = cache
            .get(async { Err::<Built, _>("backend down".to_owned()) })
            .await
            .unwrap();
        assert_eq!(stale.documents[0].xml, "one");
        tokio::time::sleep(Duration::from_millis(60)).await;
        let second = cache
            .get(async { Ok::<_, String>(built("two")) })
            .await
            .unwrap();
        assert_eq!(second.documents[0].xml, "two");
        let empty = Cache::new(Duration::from_secs(60));
        assert_eq!(
            empty
                .get(async { Err::<Built, _>("down".to_owned()) })
                .await
                .unwrap_err(),
            "down"
        );
    }

    fn entry(path: &str, lastmod: Option<&str>) -> Entry {
        Entry {
            path: path.to_owned(),
            lastmod: lastmod.map(str::to_owned),
        }
    }

    #[test]
    fn a_small_sitemap_is_one_urlset_with_escaped_addresses() {
        let entries = [
            entry("/", None),
            entry("/books?genre=a&b", None),
            entry("/books/emma", Some("2026-11-29T10:00:00Z")),
        ];
        let files = files("https://shop.example.com", &entries, 3);
        assert!(files.parts.is_empty());
        assert_eq!(
            files.root,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n\
             <url><loc>https://shop.example.com/</loc></url>\n\
             <url><loc>https://shop.example.com/books?genre=a&amp;b</loc></url>\n\
             <url><loc>https://shop.example.com/books/emma</loc><lastmod>2026-11-29T10:00:00Z</lastmod></url>\n\
             </urlset>\n"
        );
    }

    #[test]
    fn past_the_limit_an_index_names_files_of_at_most_the_limit() {
        let entries: Vec<Entry> = (0..7)
            .map(|n| entry(&format!("/books/{n}"), Some(&format!("2026-11-0{n}"))))
            .collect();
        let files = files("https://shop.example.com", &entries, 3);
        assert_eq!(files.parts.len(), 3);
        assert!(files.root.contains("<sitemapindex"), "{}", files.root);
        assert!(files.root.contains("<sitemap><loc>https://shop.example.com/sitemaps/1.xml</loc><lastmod>2026-11-02</lastmod></sitemap>"), "{}", files.root);
        assert!(
            files.root.contains(
                "<loc>https://shop.example.com/sitemaps/3.xml</loc><lastmod>2026-11-06</lastmod>"
            ),
            "{}",
            files.root
        );
        assert_eq!(files.parts[0].matches("<url>").count(), 3);
        assert_eq!(files.parts[2].matches("<url>").count(), 1);
        assert!(files.parts[2].contains("/books/6<"), "{}", files.parts[2]);
    }
}
