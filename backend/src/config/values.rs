//! How configuration values are read and shown: durations in whole units
//! (the error names the value) and URLs with their password hidden. A leaf:
//! every other `config` file uses it, it uses none of them.

use std::time::Duration;

/// A whole number of seconds.
pub fn seconds(value: &str) -> Result<Duration, String> {
    whole(value, "seconds").map(Duration::from_secs)
}

/// A whole number of milliseconds.
pub fn milliseconds(value: &str) -> Result<Duration, String> {
    whole(value, "milliseconds").map(Duration::from_millis)
}

/// A whole, non-negative number of `unit`s.
pub fn whole(value: &str, unit: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number of {unit}"))
}

/// Hides the password in a connection URL (`scheme://user:secret@host` ->
/// `scheme://user:***@host`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
