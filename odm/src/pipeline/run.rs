//! Running a pipeline: `Collection::aggregate` and `aggregate_stream`, in the
//! collection's transaction when it has one (a collection from a `Tx`), as `Find` does.

use futures::{Stream, TryStreamExt};
use serde::de::DeserializeOwned;

use super::Pipeline;
use crate::collection::Collection;
use crate::error::Result;
use crate::find::Rows;
use crate::model::Model;

impl<M: Model> Collection<M> {
    /// Runs a [`Pipeline`] on this collection: every document it yields, read as its
    /// output type. A pipeline stage that could not be built is an
    /// [`Error::Build`] naming the stage, and nothing is sent.
    ///
    /// ```no_run
    /// # use odm::pipeline::{Pipeline, fields};
    /// # use odm::prelude::*;
    /// # #[odm::model]
    /// # #[derive(Model, Serialize, Deserialize)]
    /// # struct Order { #[odm(id)] id: Option<ObjectId>, customer: String, amount: f64 }
    /// #[derive(Embedded, Serialize, Deserialize)]
    /// struct Spending {
    ///     #[serde(rename = "_id")]
    ///     customer: String,
    ///     total: f64,
    /// }
    ///
    /// # async fn run(db: Db) -> odm::Result<()> {
    /// let (o, s) = (Order::fields(), fields::<Spending>());
    /// let report: Vec<Spending> = db
    ///     .collection::<Order>()
    ///     .aggregate(Pipeline::new().group(o.customer, s.customer, |g| g.sum(s.total, o.amount)))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn aggregate<Out>(&self, pipeline: Pipeline<M, Out>) -> Result<Vec<Out>>
    where
        Out: DeserializeOwned + Send + Sync + Unpin,
    {
        self.aggregate_stream(pipeline).await?.try_collect().await
    }

    /// Runs a [`Pipeline`] and returns its documents as a stream, fetched batch by batch
    /// as it is read. In a transaction, the session is locked only while a batch is
    /// fetched, so that the transaction's other operations can run between reads.
    pub async fn aggregate_stream<Out>(
        &self,
        pipeline: Pipeline<M, Out>,
    ) -> Result<impl Stream<Item = Result<Out>> + Send + Unpin + use<M, Out>>
    where
        Out: DeserializeOwned + Send + Sync + Unpin,
    {
        let mut stages = pipeline.into_documents()?;
        if let Some((tag, name)) = M::VARIANT {
            // A variant's collection reads its own documents only, here as in `find`.
            stages.insert(0, bson::doc! {"$match": {tag: name}});
        }
        let action = self.raw().aggregate(stages).with_type::<Out>();
        let rows = match self.session() {
            None => Rows::Plain(action.await?),
            Some(session) => {
                let cursor = {
                    let mut guard = session.lock().await;
                    action.session(&mut *guard).await?
                };
                Rows::InSession(session.clone(), cursor)
            }
        };
        Ok(rows.into_stream())
    }
}
