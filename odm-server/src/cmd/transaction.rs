//! `commitTransaction` and `abortTransaction`.
//!
//! ```text
//! {commitTransaction: 1, lsid, txnNumber, autocommit: false, writeConcern?, maxTimeMS?}  (admin)
//! {abortTransaction: 1, lsid, txnNumber, autocommit: false, writeConcern?}                    (admin)
//! reply {ok: 1}
//! ```
//!
//! The session and number are checked before these run (see `dispatch`). A commit that
//! is retried after it succeeded answers `ok` again; an abort after a commit is
//! `TransactionCommitted` (256). A commit that loses a conflict is `WriteConflict` (112,
//! `TransientTransactionError`): the whole transaction may be retried. Drivers send a
//! transaction's `maxCommitTimeMS` as the commit's `maxTimeMS`: a commit still waiting
//! for the commit lock (another commit in progress) when it passes is `MaxTimeMSExpired`
//! (50) and leaves the transaction open; like mongod, the server adds no label (drivers
//! add `UnknownTransactionCommitResult` and may retry the commit).

use bson::Document;

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use crate::config::Journal;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::txn::Phase;

fn transaction<'a>(
    ctx: &'a Ctx<'_>,
) -> CmdResult<&'a std::cell::RefCell<crate::replset::txn::Transaction>> {
    ctx.txn.ok_or_else(|| {
        CommandError::new(
            ErrorCode::InvalidOptions,
            "commitTransaction and abortTransaction need lsid, txnNumber and autocommit: false",
        )
    })
}

pub fn commit(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let wc = WriteConcern::parse(&Fields::new(ctx.body))?;
    let cell = transaction(ctx)?;
    let mut txn = cell.borrow_mut();
    let ts = ctx
        .state
        .repl
        .commit_transaction(&*ctx.state.store, &mut txn, ctx.deadline)?;
    ctx.operation_time.set(Some(ts));
    if wc
        .journal
        .unwrap_or(ctx.state.config.journal == Journal::OnAcknowledge)
    {
        ctx.state.make_durable()?;
    }
    Ok(Document::new())
}

pub fn abort(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let cell = transaction(ctx)?;
    let mut txn = cell.borrow_mut();
    if let Phase::Committed(_) = txn.phase {
        return Err(CommandError::new(
            ErrorCode::TransactionCommitted,
            format!(
                "Transaction with {{ txnNumber: {} }} has been committed.",
                txn.number
            ),
        ));
    }
    ctx.state.repl.abort_transaction(&mut txn);
    Ok(Document::new())
}
