//! The seeded data every peer gets: "small" documents of about 250 bytes with 13 fields,
//! "tweet" documents of about 1.6 KB with a nested user and entities, and "large"
//! documents of about 2.7 MB (an array of nested subdocuments). Each exists twice: as a
//! `doc!` for the raw driver and as a `#[derive(Model)]` struct for the ODM and for
//! decoding, and the two serialize to the same bytes (checked by the test below), so the
//! raw driver and the ODM move the same documents.

use bson::{DateTime, Document, doc};
use odm::{Embedded, Model};
use serde::{Deserialize, Serialize};

/// Request and reply sizes on the wire, in bytes, for the floor beside each workload
/// (measured from the driver's messages for these documents, rounded).
pub const HELLO_WIRE: (usize, usize) = (270, 720);
pub const FIND_TWEET_WIRE: (usize, usize) = (230, 1_950);
pub const INSERT_SMALL_WIRE: (usize, usize) = (420, 230);
pub const UPDATE_ONE_WIRE: (usize, usize) = (300, 250);

/// Subdocuments in a large document: 10,000 of about 270 bytes.
const LARGE_ITEMS: usize = 10_000;

const EPOCH_MS: i64 = 1_700_000_000_000;

pub fn small(i: i64) -> Document {
    doc! {
        "_id": i, "name": name(i), "email": format!("user{i}@example.com"),
        "age": (i % 90) as i32, "score": i as f64 * 0.5, "active": i % 2 == 0,
        "city": "Paris", "zip": "75001", "country": "FR", "tags": ["a", "b"],
        "created": DateTime::from_millis(EPOCH_MS + i), "group": (i % 100) as i32,
        "note": "a short note of some forty characters ..",
    }
}

/// The unique-ish indexed field the scale workload queries by equality.
pub fn name(i: i64) -> String {
    format!("user{i:07}")
}

pub fn tweet(i: i64) -> Document {
    doc! {
        "_id": i,
        "text": "x".repeat(280),
        "created_at": DateTime::from_millis(EPOCH_MS + i),
        "retweets": (i % 1000) as i32, "favorites": (i % 5000) as i32, "lang": "en",
        "user": {
            "id": i % 10_000, "screen_name": format!("user{i}"), "name": "A. Person",
            "description": "y".repeat(160), "followers": 1234, "friends": 321,
            "location": "Somewhere", "verified": false,
        },
        "entities": {
            "hashtags": [{"text": "rust", "indices": [1, 5]}, {"text": "mongodb", "indices": [7, 15]}],
            "urls": [{"url": "https://example.com/a", "expanded": "https://example.com/a/long/path", "indices": [20, 43]}],
            "mentions": [{"screen_name": "someone", "id": 42, "indices": [50, 58]}],
        },
        "source": "z".repeat(600),
    }
}

pub fn large(i: i64) -> Document {
    let items: Vec<Document> = (0..LARGE_ITEMS as i32)
        .map(|j| {
            doc! {
                "n": j, "label": format!("item{j:05}"), "text": "t".repeat(150),
                "point": {"x": f64::from(j) * 0.25, "y": f64::from(j) * 0.5},
                "tags": ["red", "green"],
            }
        })
        .collect();
    doc! {"_id": i, "kind": "large", "items": items}
}

/// The BSON size of a document.
pub fn bson_len(doc: &Document) -> usize {
    bson::serialize_to_vec(doc).map_or(0, |bytes| bytes.len())
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "small")]
pub struct Small {
    #[serde(rename = "_id")]
    pub id: i64,
    pub name: String,
    pub email: String,
    pub age: i32,
    pub score: f64,
    pub active: bool,
    pub city: String,
    pub zip: String,
    pub country: String,
    pub tags: Vec<String>,
    pub created: DateTime,
    pub group: i32,
    pub note: String,
}

impl Small {
    pub fn new(i: i64) -> Small {
        Small {
            id: i,
            name: name(i),
            email: format!("user{i}@example.com"),
            age: (i % 90) as i32,
            score: i as f64 * 0.5,
            active: i % 2 == 0,
            city: "Paris".into(),
            zip: "75001".into(),
            country: "FR".into(),
            tags: vec!["a".into(), "b".into()],
            created: DateTime::from_millis(EPOCH_MS + i),
            group: (i % 100) as i32,
            note: "a short note of some forty characters ..".into(),
        }
    }
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "tweets")]
pub struct Tweet {
    #[serde(rename = "_id")]
    pub id: i64,
    pub text: String,
    pub created_at: DateTime,
    pub retweets: i32,
    pub favorites: i32,
    pub lang: String,
    pub user: TweetUser,
    pub entities: Entities,
    pub source: String,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TweetUser {
    pub id: i64,
    pub screen_name: String,
    pub name: String,
    pub description: String,
    pub followers: i32,
    pub friends: i32,
    pub location: String,
    pub verified: bool,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Entities {
    pub hashtags: Vec<Hashtag>,
    pub urls: Vec<Url>,
    pub mentions: Vec<Mention>,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Hashtag {
    pub text: String,
    pub indices: Vec<i32>,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Url {
    pub url: String,
    pub expanded: String,
    pub indices: Vec<i32>,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Mention {
    pub screen_name: String,
    pub id: i32,
    pub indices: Vec<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_serialize_to_the_raw_documents() {
        for i in [0, 7, 12_345] {
            assert_eq!(
                bson::serialize_to_document(&Small::new(i)).unwrap(),
                small(i)
            );
            let decoded: Tweet = bson::deserialize_from_document(tweet(i)).unwrap();
            assert_eq!(bson::serialize_to_document(&decoded).unwrap(), tweet(i));
        }
    }

    #[test]
    fn the_sizes_are_as_described() {
        assert!((230..=280).contains(&bson_len(&small(123_456))));
        assert!((1_500..=1_800).contains(&bson_len(&tweet(123_456))));
        let large = bson_len(&large(1)) as f64 / 1e6;
        assert!((2.5..=2.9).contains(&large), "{large} MB");
    }
}
