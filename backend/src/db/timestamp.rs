//! Serde for timestamps in cached entities: written as integer microseconds
//! since the epoch (decoding RFC 3339 text was a visible share of a warm
//! catalog request), read from either that or RFC 3339 text (what Postgres'
//! `to_json` produces for the relations query).

use chrono::{DateTime, Utc};
use serde::{Deserializer, Serializer, de};

pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_i64(time.timestamp_micros())
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("microseconds since the epoch or an RFC 3339 timestamp")
        }

        fn visit_i64<E: de::Error>(self, micros: i64) -> Result<Self::Value, E> {
            DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| E::custom("timestamp out of range"))
        }

        fn visit_u64<E: de::Error>(self, micros: u64) -> Result<Self::Value, E> {
            self.visit_i64(i64::try_from(micros).map_err(E::custom)?)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            DateTime::parse_from_rfc3339(text)
                .map(|time| time.with_timezone(&Utc))
                .map_err(E::custom)
        }
    }

    deserializer.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Row {
        #[serde(with = "super")]
        at: DateTime<Utc>,
    }

    #[test]
    fn writes_micros_and_reads_both_forms() {
        let text = r#"{"at":"2026-11-21T02:22:54.466210+00:00"}"#;
        let row: Row = serde_json::from_str(text).unwrap();
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"at":1795227774466210}"#);
        assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row);
    }
}
