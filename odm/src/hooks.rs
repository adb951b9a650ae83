//! Hooks: code a model runs before and after its writes.
//!
//! A model declares them with `#[odm(hooks)]` and an `impl Hooks for Model` of the
//! methods it needs (async allowed); without the attribute the derive implements
//! `Hooks` with none. Every write of the typed API calls them in this order:
//!
//! | write | before | after |
//! |---|---|---|
//! | `insert_one`, `insert_many`, `bulk_insert` (per document) | `before_validate`, `before_insert` | `after_insert` |
//! | `save`, `replace_one` | `before_validate`, `before_save` | `after_save` |
//! | `update_*`, `upsert`, `find_one_and_update` | `before_update` (filter, update) | `after_update` |
//! | `delete_*` | `before_delete` (filter) | `after_delete` |
//!
//! A hook's error aborts the write (nothing is sent after a failing `before_*`) and
//! reaches the caller as that `Error`. Hooks get a [`HookContext`]: its collections are
//! in the caller's transaction when there is one, so what a hook writes commits or
//! aborts with the write that called it.
//!
//! ```
//! use odm::prelude::*;
//! use odm::{HookContext, Hooks};
//!
//! #[odm::model]
//! #[derive(Model, Serialize, Deserialize, Default)]
//! #[odm(hooks)]
//! struct Post {
//!     #[odm(id)]
//!     id: Option<ObjectId>,
//!     title: String,
//!     slug: String,
//! }
//!
//! impl Hooks for Post {
//!     async fn before_insert(&mut self, _cx: &HookContext) -> odm::Result<()> {
//!         self.slug = self.title.to_lowercase().replace(' ', "-");
//!         Ok(())
//!     }
//! }
//! ```

use std::future::Future;

use crate::collection::{Collection, UpdateResult};
use crate::error::Result;
use crate::filter::Filter;
use crate::model::Model;
use crate::transaction::SharedSession;
use crate::update::Update;

/// Where a hook runs: the database of the write, in its transaction if it has one.
#[derive(Clone)]
pub struct HookContext {
    database: mongodb::Database,
    session: Option<SharedSession>,
}

impl HookContext {
    pub(crate) fn new(database: mongodb::Database, session: Option<SharedSession>) -> Self {
        HookContext { database, session }
    }

    /// A model's collection, in the same transaction as the write that runs the hook.
    pub fn collection<T: Model>(&self) -> Collection<T> {
        Collection::new(&self.database, None).in_session(self.session.clone())
    }

    /// Whether the write runs in a transaction.
    pub fn in_transaction(&self) -> bool {
        self.session.is_some()
    }
}

/// What a model does around its writes (see the [module documentation](crate::hooks)).
/// Every method has an empty default; implement the ones you need, with `async fn`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` declares `#[odm(hooks)]` but does not implement `odm::Hooks`",
    label = "needs `impl odm::Hooks for {Self}`",
    note = "implement the hooks you need (`async fn before_insert(&mut self, cx: &HookContext) -> odm::Result<()>`, ...), or remove `hooks` from `#[odm(...)]`"
)]
pub trait Hooks: Sized + Send + Sync {
    /// Before the rules are checked, on insert and save: normalise or fill fields.
    fn before_validate(&mut self, _cx: &HookContext) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Before an insert, after validation: the document as it will be stored.
    fn before_insert(&mut self, _cx: &HookContext) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// After an insert: the model holds its id.
    fn after_insert(&self, _cx: &HookContext) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Before `save` or `replace_one` stores the whole document.
    fn before_save(&mut self, _cx: &HookContext) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// After `save` or `replace_one`.
    fn after_save(&self, _cx: &HookContext) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Before an update: the filter, and the update, which the hook may extend
    /// (`*update &= f.edited.set(true)`).
    fn before_update(
        _filter: &Filter<Self>,
        _update: &mut Update<Self>,
        _cx: &HookContext,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// After an update, with what it did.
    fn after_update(
        _result: &UpdateResult,
        _cx: &HookContext,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Before a delete, with its filter.
    fn before_delete(
        _filter: &Filter<Self>,
        _cx: &HookContext,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// After a delete, with how many documents it removed.
    fn after_delete(_deleted: u64, _cx: &HookContext) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}
