//! `listDatabases` (admin): the databases that have collections.
//!
//! ```text
//! request  {listDatabases: 1, nameOnly?, filter?, authorizedDatabases?}
//! reply    {databases: [{name, sizeOnDisk, empty}], totalSize, totalSizeMb, ok: 1}
//! ```
//!
//! `sizeOnDisk` is the bytes of the database's documents and index entries (all databases
//! share one file, so per-database file sizes do not exist).

use bson::{Document, doc};

use super::Ctx;
use super::fields::Fields;
use crate::engine::matcher::Filter;
use crate::error::CmdResult;
use crate::storage::{catalog, collection};

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let name_only = f.bool("nameOnly")?.unwrap_or(false);
    let filter = f.document("filter")?.map(Filter::parse).transpose()?;
    let txn = ctx.reader()?;
    let mut databases = Vec::new();
    let mut total = 0i64;
    for name in catalog::databases(&*txn)? {
        // Under access control a user sees the databases it has a role on, as mongod
        // shows them by default (`authorizedDatabases`).
        if ctx.state.config.auth && !ctx.conn.auth().sees_database(&name) {
            continue;
        }
        let mut size = 0u64;
        let mut objects = 0u64;
        if !name_only {
            for meta in catalog::list(&*txn, &name)? {
                let (count, bytes) = collection::stats(&*txn, &meta)?;
                objects += count;
                size += bytes;
                for index in &meta.indexes {
                    size += collection::index_size(&*txn, index)?;
                }
            }
        }
        let entry = if name_only {
            doc! {"name": &name}
        } else {
            doc! {"name": &name, "sizeOnDisk": size as i64, "empty": objects == 0}
        };
        if filter.as_ref().is_none_or(|f| f.matches(&entry)) {
            total += size as i64;
            databases.push(entry);
        }
    }
    if name_only {
        return Ok(doc! {"databases": databases});
    }
    Ok(doc! {"databases": databases, "totalSize": total, "totalSizeMb": total / (1024 * 1024)})
}
