//! Serde helpers that store `chrono::DateTime<Utc>` as a BSON date (not a string):
//! `#[serde(with = "odm::chrono_datetime")]`, or `odm::chrono_datetime::option` for
//! `Option<DateTime<Utc>>`. The derive requires one of them on chrono date fields, so
//! that queries compare dates with dates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    bson::DateTime::from_chrono(*value).serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    bson::DateTime::deserialize(deserializer).map(|d| d.to_chrono())
}

/// The same for `Option<DateTime<Utc>>`.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.map(bson::DateTime::from_chrono).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<bson::DateTime>::deserialize(deserializer).map(|d| d.map(|d| d.to_chrono()))
    }
}
