//! Content negotiation for GraphQL over HTTP: `application/graphql-response+json`
//! when the client accepts it, else `application/json` (what legacy clients
//! understand). Owns nothing else.

use axum::http::{HeaderMap, HeaderValue, header};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

/// The media type the response is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    GraphQLResponseJson,
    Json,
}

impl Media {
    /// Picks the response type from `Accept`. No header (or a wildcard) gets
    /// `application/json`, which every legacy client understands.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT) else {
            return Some(Media::Json);
        };
        let accept = accept.to_str().unwrap_or_default();
        let ranges: Vec<String> = accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next()?.to_ascii_lowercase();
                let refused = parts.any(|param| {
                    param
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (!refused).then_some(media)
            })
            .collect();
        if ranges.iter().any(|media| media == GRAPHQL_RESPONSE_JSON) {
            Some(Media::GraphQLResponseJson)
        } else if ranges
            .iter()
            .any(|media| media == JSON || media == "application/*" || media == "*/*")
        {
            Some(Media::Json)
        } else {
            None
        }
    }

    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}
