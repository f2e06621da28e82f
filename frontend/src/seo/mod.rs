//! What search engines and shared links read, apart from the pages'
//! content: which paths are private (`robots`: `robots.txt`, the
//! `X-Robots-Tag: noindex` header and the pages' robots meta tag), the
//! sitemap's XML and its split into files (`sitemap`), a book's
//! schema.org JSON-LD, safe inside its `<script>` (`json_ld`), and the
//! favicon (`favicon`).
//!
//! This file only declares them. They never call the backend (the
//! sitemap's handlers in `pages::seo` read the catalog), import only the
//! leaves `format` and `conditional`, and never see a request's `Host`
//! header: every absolute address starts with the configured `PUBLIC_URL`.

pub mod favicon;
pub mod json_ld;
pub mod robots;
pub mod sitemap;
