//! Configuration of the live updates (`crate::live`): how many event
//! streams one storefront instance keeps open, and how often it sends a
//! keep-alive. Flattened into [`super::Config`].
//!
//! Owns only these variables.

use std::time::Duration;

use clap::Args;

use super::or_default;

const DEFAULT_LIVE_MAX_STREAMS: &str = "1000";
const DEFAULT_LIVE_KEEPALIVE_SECS: &str = "15";

#[derive(Clone, Debug, Args)]
pub struct LiveConfig {
    /// Live-update streams (Server-Sent Events, each following one backend
    /// subscription over its own WebSocket) this instance keeps open at
    /// once; one more is answered 503 and that page simply does not update
    /// itself. 0 turns live updates off.
    #[arg(
        long = "live-max-streams",
        env = "LIVE_MAX_STREAMS",
        value_name = "STREAMS",
        default_value = DEFAULT_LIVE_MAX_STREAMS,
        value_parser = max_streams,
    )]
    pub max_streams: usize,

    /// Seconds between keep-alive comments on a quiet live stream (so
    /// proxies do not close it), and of backend silence before the
    /// storefront pings the backend's WebSocket (no answer within as long
    /// again ends the stream; the browser reconnects).
    #[arg(
        long = "live-keepalive-secs",
        env = "LIVE_KEEPALIVE_SECS",
        value_name = "SECONDS",
        default_value = DEFAULT_LIVE_KEEPALIVE_SECS,
        value_parser = keepalive,
    )]
    pub keepalive: Duration,
}

fn max_streams(text: &str) -> Result<usize, String> {
    or_default(text, DEFAULT_LIVE_MAX_STREAMS)
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|streams| *streams <= 1_000_000)
        .ok_or_else(|| "LIVE_MAX_STREAMS must be a number from 0 to 1000000".to_owned())
}

fn keepalive(text: &str) -> Result<Duration, String> {
    or_default(text, DEFAULT_LIVE_KEEPALIVE_SECS)
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|seconds| (1..=300).contains(seconds))
        .map(Duration::from_secs)
        .ok_or_else(|| "LIVE_KEEPALIVE_SECS must be a number of seconds from 1 to 300".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::tests::config;
    use super::*;

    #[test]
    fn live_updates_have_bounded_defaults_and_take_their_variables() {
        let live = config(&[]).unwrap().live;
        assert_eq!(live.max_streams, 1000);
        assert_eq!(live.keepalive, Duration::from_secs(15));
        let set = config(&[("LIVE_MAX_STREAMS", "2"), ("LIVE_KEEPALIVE_SECS", "1")])
            .unwrap()
            .live;
        assert_eq!(set.max_streams, 2);
        assert_eq!(set.keepalive, Duration::from_secs(1));
        for (name, value) in [
            ("LIVE_MAX_STREAMS", "-1"),
            ("LIVE_MAX_STREAMS", "many"),
            ("LIVE_KEEPALIVE_SECS", "0"),
            ("LIVE_KEEPALIVE_SECS", "301"),
        ] {
            let error = config(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
