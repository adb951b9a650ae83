//! Migrations as an application ships them: a list of named steps and a small command
//! line over it (`status`, `up`, `down <n>`), here on an embedded database in a folder.
//!
//! ```sh
//! cargo run -p odm-examples --example migrations -- ./data status
//! cargo run -p odm-examples --example migrations -- ./data up
//! cargo run -p odm-examples --example migrations -- ./data down 1
//! ```

use odm::migrate::{Migration, cli};
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug)]
struct Post {
    #[odm(id)]
    id: Option<ObjectId>,
    title: String,
    slug: Option<String>, // added by 0002: older documents read as None
}

fn migrations() -> Vec<Migration> {
    vec![
        Migration::new("0001_seed_posts", |step| async move {
            let posts = step.collection::<Post>();
            for title in ["Hello World", "Second Post"] {
                let mut post = Post {
                    id: None,
                    title: title.into(),
                    slug: None,
                };
                posts.insert_one(&mut post).await?;
            }
            Ok(())
        })
        .backward(|step| async move {
            step.collection::<Post>().delete_many(Filter::all()).await?;
            Ok(())
        }),
        Migration::new("0002_posts_get_slugs", |step| async move {
            let posts = step.collection::<Post>();
            let f = Post::fields();
            for mut post in posts.find(f.slug.is_null()).await? {
                post.slug = Some(post.title.to_lowercase().replace(' ', "-"));
                posts.save(&mut post).await?;
            }
            Ok(())
        })
        .backward(|step| async move {
            let f = Post::fields();
            step.collection::<Post>()
                .update_many(Filter::all(), f.slug.unset())
                .await?;
            Ok(())
        }),
    ]
}

#[tokio::main]
async fn main() -> odm::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: migrations <data folder> [status | up | down <n>]");
        std::process::exit(2);
    }
    let folder = args.remove(0);
    let db = Db::open(&folder).await?;
    println!("{}", cli(&db, &migrations(), &args).await?);
    db.close().await;
    Ok(())
}
