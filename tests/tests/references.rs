//! `Ref<T>` and `populate`: references stored as ids, loaded with one query per path
//! whatever the number of documents (counted with the driver's command monitoring),
//! nested two levels, dangling references reported, and the reverse side.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use odm::mongodb::event::EventHandler;
use odm::mongodb::event::command::CommandEvent;
use odm::mongodb::options::ClientOptions;
use odm::prelude::*;
use odm::{Error, Ref};

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "ref_users")]
struct Author {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "ref_comments")]
struct Comment {
    #[serde(rename = "_id")]
    id: ObjectId,
    author: Ref<Author>,
    text: String,
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "ref_posts")]
struct Post {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[odm(index)]
    n: u32,
    author: Ref<Author>,
    comments: Vec<Ref<Comment>>,
    editor: Option<Ref<Author>>,
}

/// `posts` posts by 20 authors, each with 2 comments by other authors.
async fn seed(db: &Db, posts: u32) -> Vec<Author> {
    let authors: Vec<Author> = (0..20)
        .map(|i| Author {
            id: ObjectId::new(),
            name: format!("author {i}"),
        })
        .collect();
    db.collection::<Author>()
        .bulk_insert(authors.clone())
        .await
        .unwrap();
    let mut comments = Vec::new();
    let mut all_posts = Vec::new();
    for n in 0..posts {
        let by = |k: u32| Ref::to(&authors[((n + k) % 20) as usize]).unwrap();
        let mine: Vec<Comment> = (1..=2)
            .map(|k| Comment {
                id: ObjectId::new(),
                author: by(k),
                text: format!("comment {k} on {n}"),
            })
            .collect();
        all_posts.push(Post {
            id: ObjectId::new(),
            n,
            author: by(0),
            comments: mine.iter().map(|c| Ref::to(c).unwrap()).collect(),
            editor: (n % 2 == 0).then(|| by(5)),
        });
        comments.extend(mine);
    }
    db.collection::<Comment>()
        .bulk_insert(comments)
        .await
        .unwrap();
    db.collection::<Post>()
        .bulk_insert(all_posts)
        .await
        .unwrap();
    authors
}

/// Another handle on `db`'s database whose client records the name of every command
/// it sends.
async fn monitored(db: &Db) -> (Db, Arc<Mutex<Vec<String>>>) {
    let uri = match db.embedded_uri() {
        Some(uri) => format!("{uri}?directConnection=true"),
        None => std::env::var("ODM_TEST_MONGODB_URI").expect("a server to connect to"),
    };
    let names = Arc::new(Mutex::new(Vec::new()));
    let seen = names.clone();
    let mut options = ClientOptions::parse(&uri).await.unwrap();
    options.command_event_handler = Some(EventHandler::callback(move |e: CommandEvent| {
        if let CommandEvent::Started(started) = e {
            seen.lock().unwrap().push(started.command_name);
        }
    }));
    let handle = Db::connect_with_options(options)
        .unwrap()
        .database(db.name());
    (handle, names)
}

fn counts(names: &Mutex<Vec<String>>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for name in names.lock().unwrap().drain(..) {
        *counts.entry(name).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn populating_costs_one_query_per_path_whatever_the_number_of_posts() {
    let mut seen_counts = Vec::new();
    for posts in [10, 1_000] {
        let db = common::db().await;
        seed(&db, posts).await;
        let (watched, names) = monitored(&db).await;
        let (p, c) = (Post::fields(), Comment::fields());
        counts(&names);
        let loaded = watched
            .collection::<Post>()
            .find(Filter::all())
            .sort(p.n.asc())
            .populate(p.author)
            .populate(p.editor)
            .populate(p.comments.with(c.author))
            .await
            .unwrap();
        let commands = counts(&names);
        assert_eq!(loaded.len(), posts as usize);
        for post in &loaded {
            let n = post.n;
            assert_eq!(
                post.author.loaded().unwrap().name,
                format!("author {}", n % 20)
            );
            assert_eq!(post.editor.is_some(), n % 2 == 0);
            if let Some(editor) = &post.editor {
                assert_eq!(
                    editor.loaded().unwrap().name,
                    format!("author {}", (n + 5) % 20)
                );
            }
            assert_eq!(post.comments.len(), 2);
            for (k, comment) in post.comments.iter().enumerate() {
                let comment = comment.loaded().unwrap();
                assert_eq!(comment.text, format!("comment {} on {n}", k + 1));
                assert_eq!(
                    comment.author.loaded().unwrap().name,
                    format!("author {}", (n + k as u32 + 1) % 20)
                );
            }
        }
        seen_counts.push(commands);
        common::finish(db).await;
    }
    // posts, their authors, their editors, the comments, the comments' authors.
    let expected = BTreeMap::from([("find".to_string(), 5)]);
    assert_eq!(seen_counts[0], expected, "10 posts");
    assert_eq!(seen_counts[1], expected, "1,000 posts");
}

#[tokio::test(flavor = "multi_thread")]
async fn dangling_and_unpopulated_references_are_errors_not_panics() {
    let db = common::db().await;
    let authors = seed(&db, 2).await;
    let posts = db.collection::<Post>();
    let p = Post::fields();
    let gone = authors[0].id;
    db.collection::<Author>().delete_by_id(gone).await.unwrap();

    let loaded = posts
        .find(p.n.eq(0))
        .populate(p.author)
        .first()
        .await
        .unwrap()
        .unwrap();
    assert!(loaded.author.is_dangling());
    assert!(loaded.author.get().is_none());
    match loaded.author.loaded() {
        Err(Error::Dangling { collection, id }) => {
            assert_eq!(collection, "ref_users");
            assert_eq!(*id, Bson::ObjectId(gone));
        }
        other => panic!("expected a dangling reference, got {other:?}"),
    }
    // A path the query did not populate says so.
    assert!(matches!(
        loaded.comments[0].loaded(),
        Err(Error::NotPopulated { .. })
    ));
    // Stored as the bare id, populated or not.
    let raw = posts.raw().find_one(doc! {"n": 0}).await.unwrap().unwrap();
    assert_eq!(raw.get("author"), Some(&Bson::ObjectId(gone)));
    assert!(
        matches!(raw.get("comments"), Some(Bson::Array(ids)) if ids.iter().all(|id| matches!(id, Bson::ObjectId(_))))
    );
    // Filters take references.
    assert_eq!(posts.count(p.author.eq(&loaded.author)).await.unwrap(), 1);
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reverse_side_through_lookup() {
    let db = common::db().await;
    let authors = seed(&db, 40).await;
    let (a, p) = (Author::fields(), Post::fields());
    let with_posts = db
        .collection::<Author>()
        .find(a.name.eq("author 3"))
        .with_referrers(p.author)
        .await
        .unwrap();
    assert_eq!(with_posts.len(), 1);
    assert_eq!(with_posts[0].doc, authors[3]);
    let mut ns: Vec<u32> = with_posts[0].referrers.iter().map(|post| post.n).collect();
    ns.sort();
    assert_eq!(ns, vec![3, 23]);

    // Through an array of references: each comment with the posts that list it.
    let comments = db
        .collection::<Comment>()
        .find(Comment::fields().text.eq("comment 1 on 7"))
        .with_referrers(p.comments)
        .await
        .unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].referrers.len(), 1);
    assert_eq!(comments[0].referrers[0].n, 7);
    common::finish(db).await;
}
