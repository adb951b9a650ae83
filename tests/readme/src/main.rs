//! The README's tour as a program: the text between the markers below is the README's
//! `rust` block, word for word (`tests/readme.rs` checks it), so the tour compiles with
//! exactly the dependencies the README lists, and `cargo test` runs it.

// README tour begins
use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, Default)]
struct Address {
    #[odm(length(min = 1, max = 64))]
    city: String,
    #[odm(pattern = "^[0-9]{5}$")]
    zip: String,
}

#[odm::model] // above the derives: stores the `#[odm(id)]` field as `_id`
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[odm(index(keys(email = 1), unique), index(keys(age = 1, name = -1)), timestamps)]
struct User {
    #[odm(id)]
    id: Option<ObjectId>, // None until inserted; then the ObjectId the ODM gave it
    #[odm(email)]
    email: String,
    #[odm(length(min = 1, max = 64))]
    name: String,
    #[odm(range(min = 0, max = 150))]
    age: u32,
    address: Address, // #[derive(Embedded)]: its rules apply here; paths f.address.city
    tags: Vec<String>,
    created_at: Option<DateTime>, // `timestamps`: set on insert...
    updated_at: Option<DateTime>, // ...and on every write (either field may be left out)
    #[odm(version)]
    version: u64, // every write moves it on; `save` only replaces the version it loaded
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug)]
#[odm(hooks)] // implements `odm::Hooks` below
struct Post {
    #[odm(id)]
    id: Option<ObjectId>,
    author: Ref<User>, // stored as the user's _id; `populate` loads the user
    title: String,
    slug: String,
}

impl odm::Hooks for Post {
    // Also before/after save, update and delete; an error aborts the write.
    async fn before_insert(&mut self, _cx: &odm::HookContext) -> odm::Result<()> {
        self.slug = self.title.to_lowercase().replace(' ', "-");
        Ok(())
    }
}

#[derive(Model, Serialize, Deserialize, Debug)]
#[serde(tag = "kind")] // one collection, several kinds of documents
#[odm(collection = "media", shared(id, title))] // `shared`: paths every kind has
enum Media {
    Book(Book),
    Film(Film),
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Default)]
#[odm(variant_of = Media)] // stored in "media" with kind: "Book"
struct Book {
    #[odm(id)]
    id: Option<ObjectId>,
    title: String,
    #[odm(range(min = 1))]
    pages: u32,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Default)]
#[odm(variant_of = Media)]
struct Film {
    #[odm(id)]
    id: Option<ObjectId>,
    title: String,
    minutes: u32,
}

#[derive(Embedded, Serialize, Deserialize, Debug)]
struct PostsPerAuthor {
    #[serde(rename = "_id")]
    author: Ref<User>,
    posts: i64,
}

#[tokio::main]
async fn main() -> odm::Result<()> {
    let db = Db::open("./data").await?; // or Db::memory(), or Db::connect(uri)
    db.sync_indexes_for::<(User, Post)>().await?; // at startup, every model's declared indexes
    let users = db.collection::<User>(); // collection "users"

    let mut alice = User {
        email: "alice@example.com".into(),
        name: "Alice".into(),
        age: 30,
        address: Address {
            city: "Paris".into(),
            zip: "75001".into(),
        },
        tags: vec!["admin".into()],
        ..Default::default()
    };
    users.insert_one(&mut alice).await?; // validates, fills the id and the timestamps

    let f = User::fields();
    let admins: Vec<User> = users
        .find(f.age.gte(18) & f.address.city.eq("Paris") & f.tags.contains("admin"))
        .sort(f.age.desc())
        .limit(20)
        .await?; // or .first(), .stream(), .page_after(last, n)
    users
        .update_many(f.age.lt(18), f.age.inc(1) & f.tags.push("minor"))
        .await?;
    users.update_by_id(alice.id, f.name.set("Alice B.")).await?; // the id as the model holds it
    let stored = users.get(alice.id).await?;
    assert_eq!((admins.len(), stored.name.as_str()), (1, "Alice B."));

    // Load, change, save: a save over a write made since it was loaded is refused.
    let (mut mine, mut theirs) = (users.get(alice.id).await?, users.get(alice.id).await?);
    mine.age = 31;
    users.save(&mut mine).await?;
    theirs.age = 99;
    let refused = users.save(&mut theirs).await;
    assert!(matches!(refused, Err(odm::Error::VersionConflict { .. })));

    // References: one query per path loads them, however many posts there are.
    let posts = db.collection::<Post>();
    let mut hello = Post {
        id: None,
        author: Ref::to(&alice)?,
        title: "Hello World".into(),
        slug: String::new(),
    };
    posts.insert_one(&mut hello).await?; // its hook fills the slug
    assert_eq!(hello.slug, "hello-world");
    let p = Post::fields();
    let loaded = posts
        .find(p.slug.eq("hello-world"))
        .populate(p.author)
        .await?;
    assert_eq!(loaded[0].author.loaded()?.name, "Alice B."); // or Error::Dangling

    // A typed pipeline: its output is a type you name, its accumulators checked.
    let out = odm::pipeline::fields::<PostsPerAuthor>();
    let per_author: Vec<PostsPerAuthor> = posts
        .aggregate(Pipeline::new().group(p.author, out.author, |g| g.count(out.posts)))
        .await?;
    assert_eq!(per_author[0].posts, 1);

    // One collection, two kinds: the shared paths on the parent, each kind's own on it.
    let media = db.collection::<Media>();
    let dune = Book {
        title: "Dune".into(),
        pages: 412,
        ..Default::default()
    };
    media.insert_one(&mut Media::Book(dune)).await?; // checked by Book's rules
    let mut film = Film {
        title: "Dune".into(),
        minutes: 155,
        ..Default::default()
    };
    media.of::<Film>().insert_one(&mut film).await?;
    let both: Vec<Media> = media.find(Media::fields().title.eq("Dune")).await?;
    let long: Vec<Film> = media // of::<Film>() adds kind: "Film" to every query
        .of::<Film>()
        .find(Film::fields().minutes.gt(120))
        .await?;
    assert_eq!((both.len(), long.len()), (2, 1));

    // Every write of the closure is stored, or none; retried on a conflict.
    let audited = db
        .transaction(|tx| async move {
            let users = tx.collection::<User>();
            users.update_by_id(alice.id, f.age.inc(1)).await?;
            users
                .update_many(f.tags.contains("admin"), f.tags.push("audited"))
                .await?;
            users.count(f.tags.contains("audited")).await
        })
        .await?;
    let mut changes = users.watch().await?; // typed change events, resumable by token
    let mut bob = User {
        email: "bob@example.com".into(),
        name: "Bob".into(),
        address: alice.address.clone(),
        ..Default::default()
    };
    users.insert_one(&mut bob).await?;
    let event = changes.next_event().await?.map(|e| e.change);
    assert!(
        matches!(event, Some(odm::Change::Inserted { document, .. }) if document.name == "Bob")
    );
    assert_eq!(audited, 1);
    users.delete_by_id(alice.id).await?;
    users.delete_many(Filter::all()).await?; // "everything" has to be said
    posts.delete_many(Filter::all()).await?;
    media.delete_many(Filter::all()).await?;
    db.close().await;
    Ok(())
}
// README tour ends
