//! `find_one_and_update`: one document updated and returned, before or after.

use bson::Document;
use mongodb::options::ReturnDocument;

use super::writes::{prepare_update, validate_upsert_seed};
use super::{Collection, UpdateResult};
use crate::error::Result;
use crate::filter::Filter;
use crate::model::Model;
use crate::sort::Sort;
use crate::transaction::send_in;
use crate::update::Update;

impl<M: Model> Collection<M> {
    /// Updates the first matching document and returns it: as it was before (default)
    /// or after (`.return_after()`).
    pub fn find_one_and_update(&self, filter: Filter<M>, update: Update<M>) -> FindOneAndUpdate<M> {
        FindOneAndUpdate {
            collection: self.clone(),
            filter,
            update,
            after: false,
            sort: None,
            upsert: false,
        }
    }
}

/// A `find_one_and_update` being built; `.await` it.
pub struct FindOneAndUpdate<M: Model> {
    collection: Collection<M>,
    filter: Filter<M>,
    update: Update<M>,
    after: bool,
    sort: Option<Sort<M>>,
    upsert: bool,
}

impl<M: Model> FindOneAndUpdate<M> {
    /// Return the document as it is after the update (default: before).
    pub fn return_after(mut self) -> Self {
        self.after = true;
        self
    }

    /// Which matching document to update first.
    pub fn sort(mut self, sort: Sort<M>) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Insert a document when none matches.
    pub fn upsert(mut self) -> Self {
        self.upsert = true;
        self
    }

    async fn run(mut self) -> Result<Option<M>> {
        self.collection.ensure_indexes().await?;
        let cx = self.collection.hook_context();
        M::before_update(&self.filter, &mut self.update, &cx).await?;
        let update = prepare_update(self.update, self.upsert)?;
        let filter = self.collection.scoped(self.filter).into_document()?;
        if self.upsert {
            validate_upsert_seed::<M>(&filter)?;
        }
        let typed = self.collection.raw.clone_with_type::<M>();
        let options = mongodb::options::FindOneAndUpdateOptions::builder()
            .return_document(if self.after {
                ReturnDocument::After
            } else {
                ReturnDocument::Before
            })
            .upsert(self.upsert)
            .sort(self.sort.map(|s| s.to_document()))
            .build();
        let found = send_in!(
            &self.collection.session,
            typed
                .find_one_and_update(filter, update)
                .with_options(options)
        )
        .map_err(|e| self.collection.write_error(e, &Document::new()))?;
        // The server says which document it changed, not whether the change was a no-op.
        let touched = u64::from(found.is_some());
        let result = UpdateResult {
            matched: touched,
            modified: touched,
            upserted_id: None,
        };
        M::after_update(&result, &cx).await?;
        Ok(found)
    }
}

impl<M: Model> std::future::IntoFuture for FindOneAndUpdate<M> {
    type Output = Result<Option<M>>;
    type IntoFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<M>>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
