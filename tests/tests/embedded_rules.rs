//! The rules of an `#[derive(Embedded)]` type apply wherever it is used, with nothing
//! to say on the field: directly, in `Option`, `Vec`, `Box` and maps, on insert and on
//! every update that stores a value inside it.

mod common;

use std::collections::BTreeMap;

use common::{db, finish};
use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Stats {
    #[odm(range(min = 0))]
    views: i64,
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Post {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    stats: Stats,
    previous: Option<Stats>,
    history: Vec<Stats>,
    boxed: Option<Box<Stats>>,
    by_day: BTreeMap<String, Stats>,
}

fn stats(views: i64) -> Stats {
    Stats { views }
}

fn paths(post: &Post) -> Vec<String> {
    match post.validate() {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.path.clone()).collect(),
    }
}

#[test]
fn every_container_of_an_embedded_type_is_checked() {
    let ok = Post::default();
    assert!(ok.validate().is_ok());

    let cases: Vec<(Post, &str)> = vec![
        (
            Post {
                stats: stats(-1),
                ..Default::default()
            },
            "stats.views",
        ),
        (
            Post {
                previous: Some(stats(-1)),
                ..Default::default()
            },
            "previous.views",
        ),
        (
            Post {
                history: vec![stats(1), stats(-1)],
                ..Default::default()
            },
            "history.1.views",
        ),
        (
            Post {
                boxed: Some(Box::new(stats(-1))),
                ..Default::default()
            },
            "boxed.views",
        ),
        (
            Post {
                by_day: BTreeMap::from([("mon".to_string(), stats(-1))]),
                ..Default::default()
            },
            "by_day.mon.views",
        ),
    ];
    for (post, path) in cases {
        assert_eq!(paths(&post), vec![path.to_string()]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_embedded_value_is_refused_and_nothing_is_written() {
    let db = db().await;
    let posts = db.collection::<Post>();
    let mut bad = Post {
        stats: stats(-1),
        ..Default::default()
    };
    let Err(Error::Validation(errors)) = posts.insert_one(&mut bad).await else {
        panic!("views: -1 inside an embedded struct was stored");
    };
    assert_eq!(errors.iter().next().unwrap().code, "range");
    assert_eq!(posts.count(Filter::all()).await.unwrap(), 0);

    let mut good = Post::default();
    posts.insert_one(&mut good).await.unwrap();
    let f = Post::fields();
    // A value set through a path inside the embedded type, the whole embedded value, an
    // element appended to a `Vec` of them, and a map entry: each is checked.
    let refused = [
        f.stats.views.set(-5),
        f.stats.set(stats(-5)),
        f.previous.set(stats(-5)),
        f.history.push(stats(-5)),
        f.by_day
            .set(BTreeMap::from([("tue".to_string(), stats(-5))])),
    ];
    for update in refused {
        let shown = format!("{:?}", update.to_document());
        match posts.update_one(f.id.eq(good.id.unwrap()), update).await {
            Err(Error::Validation(errors)) => {
                assert_eq!(errors.iter().next().unwrap().code, "range", "{shown}")
            }
            other => panic!("{shown} was not refused: {other:?}"),
        }
    }
    let stored = posts.get(good.id.unwrap()).await.unwrap();
    assert_eq!(stored, good);
    finish(db).await;
}
