//! Configuration of the storefront's page caching: how long browsers and
//! shared caches may keep an anonymous catalog page, and how much memory the
//! in-process copies of rendered pages may take. Flattened into
//! [`super::Config`].
//!
//! Owns only these variables; what is cacheable is decided by
//! `pages::public` and `conditional`, the copies are kept by `page_cache`.

use std::time::Duration;

use clap::Args;

use super::or_default;

const DEFAULT_PAGE_MAX_AGE_SECS: &str = "5";
const DEFAULT_PAGE_CACHE_MIB: &str = "32";

#[derive(Clone, Debug, Args)]
pub struct CachingConfig {
    /// How long a browser or a shared cache (CDN, nginx) may reuse an
    /// anonymous catalog, book or contributor page without asking again
    /// (`Cache-Control: public, max-age=…`), in seconds; 0 makes them
    /// revalidate every time (`max-age=0`, still with `ETag`). Pages for a
    /// signed-in visitor, or holding a form, are never public.
    #[arg(
        long = "page-max-age-secs",
        env = "PAGE_MAX_AGE_SECS",
        value_name = "SECONDS",
        default_value = DEFAULT_PAGE_MAX_AGE_SECS,
        value_parser = max_age,
    )]
    pub page_max_age: Duration,

    /// Memory for rendered catalog pages kept in process, in MiB: a page
    /// whose data the backend says is unchanged (`304`) is served from its
    /// copy instead of being rendered again. 0 turns the copies off.
    #[arg(
        long = "page-cache-mib",
        env = "PAGE_CACHE_MIB",
        value_name = "MIB",
        default_value = DEFAULT_PAGE_CACHE_MIB,
        value_parser = mebibytes,
    )]
    pub page_cache_bytes: usize,
}

/// At most a day: a longer public lifetime would keep stale prices around.
fn max_age(text: &str) -> Result<Duration, String> {
    or_default(text, DEFAULT_PAGE_MAX_AGE_SECS)
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|seconds| *seconds <= 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| "PAGE_MAX_AGE_SECS must be a number of seconds from 0 to 86400".to_owned())
}

fn mebibytes(text: &str) -> Result<usize, String> {
    or_default(text, DEFAULT_PAGE_CACHE_MIB)
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|mib| *mib <= 65_536)
        .map(|mib| mib * 1024 * 1024)
        .ok_or_else(|| "PAGE_CACHE_MIB must be a number of MiB from 0 to 65536".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::tests::config;
    use super::*;

    #[test]
    fn page_caching_has_short_defaults_and_takes_its_variables() {
        let caching = config(&[]).unwrap().caching;
        assert_eq!(caching.page_max_age, Duration::from_secs(5));
        assert_eq!(caching.page_cache_bytes, 32 * 1024 * 1024);
        let blank = config(&[("PAGE_MAX_AGE_SECS", " "), ("PAGE_CACHE_MIB", "")])
            .unwrap()
            .caching;
        assert_eq!(blank.page_max_age, Duration::from_secs(5));
        let set = config(&[("PAGE_MAX_AGE_SECS", "0"), ("PAGE_CACHE_MIB", "2")])
            .unwrap()
            .caching;
        assert_eq!(set.page_max_age, Duration::ZERO);
        assert_eq!(set.page_cache_bytes, 2 * 1024 * 1024);
        for (name, value) in [
            ("PAGE_MAX_AGE_SECS", "soon"),
            ("PAGE_MAX_AGE_SECS", "86401"),
            ("PAGE_CACHE_MIB", "-1"),
        ] {
            let error = config(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
