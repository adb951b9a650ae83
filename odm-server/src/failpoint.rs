//! Fail points: faults the users' own tests switch on, as mongod's `failCommand` and
//! `hangWithLockDuringBatchInsert`.
//!
//! ```text
//! {configureFailPoint: "failCommand",
//!  mode: "alwaysOn" | "off" | {times: n} | {skip: n},
//!  data: {failCommands: ["insert", ...], errorCode?: n, errorLabels?: [...],
//!         closeConnection?: bool, blockConnection?: bool, blockTimeMS?: n,
//!         writeConcernError?: {code, codeName?, errmsg}, appName?: "..."}}
//! {configureFailPoint: "hangWithLockDuringBatchInsert", mode: "alwaysOn" | "off"}
//! {waitForFailPoint: "hangWithLockDuringBatchInsert", timesEntered: n, maxTimeMS: n}
//! ```
//!
//! `hangWithLockDuringBatchInsert` makes an insert pause, while the point is on, after it
//! has taken its locks: here the commit lock of a plain write, so every other commit
//! (a transaction's included) waits behind it, which is how a test makes a commit wait.
//! `configureFailPoint` answers how many times it was entered so far (`count`), and
//! `waitForFailPoint` waits until it has been entered `timesEntered` times.
//!
//! Only available with test commands enabled. Each matching command "enters" the fail
//! point: `times: n` fires on the next n, `skip: n` lets n pass and then fires every
//! time. Firing blocks first (`blockConnection`), then closes the connection without a
//! reply, answers `errorCode` without running the command, or runs it and adds the
//! `writeConcernError`. Only `configureFailPoint` itself never fails. `errorLabels`
//! replaces the labels the server would add (an empty array: none).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};

use crate::engine::arith;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// Commands a fail point never affects (drivers' own tests fail `hello` on purpose).
const NEVER_FAILED: &[&str] = &["configureFailPoint"];

/// Error codes drivers retry writes on; a fail point without `errorLabels` gives them the
/// `RetryableWriteError` label on retryable writes, as mongod does.
const RETRYABLE_CODES: &[i32] = &[
    6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 64, 50,
];

#[derive(Clone, Debug, PartialEq)]
enum Mode {
    AlwaysOn,
    Times(u64),
    Skip(u64),
}

#[derive(Clone, Debug)]
struct FailCommand {
    mode: Mode,
    commands: Vec<String>,
    error_code: Option<i32>,
    labels: Option<Vec<String>>,
    close_connection: bool,
    block: Option<Duration>,
    write_concern_error: Option<Document>,
    app_name: Option<String>,
}

/// What a fired fail point does to one command.
#[derive(Clone, Debug, Default)]
pub struct Fault {
    /// Wait this long before anything else.
    pub block: Option<Duration>,
    /// Close the connection without replying.
    pub close_connection: bool,
    /// Answer this error instead of running the command.
    pub error: Option<CommandError>,
    /// Run the command, then add this `writeConcernError` to its reply.
    pub write_concern_error: Option<Document>,
}

#[derive(Default)]
pub struct FailPoints {
    fail_command: Mutex<Option<FailCommand>>,
    hang_during_insert: AtomicBool,
    /// How many inserts have paused at `hangWithLockDuringBatchInsert`.
    hang_entered: AtomicU64,
}

/// The fail point that pauses inserts holding their locks.
const HANG_DURING_INSERT: &str = "hangWithLockDuringBatchInsert";

impl FailPoints {
    /// `configureFailPoint`: returns the reply (`count`: times the point was entered
    /// before, always 0 here as mongod reports for a fresh configuration).
    pub fn configure(&self, body: &Document) -> CmdResult<Document> {
        let name = body.get_str("configureFailPoint").map_err(|_| {
            CommandError::type_mismatch("configureFailPoint must be the name of a fail point")
        })?;
        if name != "failCommand" && name != HANG_DURING_INSERT {
            return Err(CommandError::bad_value(format!(
                "Cannot find failpoint: {name} (this server has failCommand and {HANG_DURING_INSERT} only)"
            )));
        }
        let mode = match body.get("mode") {
            Some(Bson::String(s)) if s == "alwaysOn" => Some(Mode::AlwaysOn),
            Some(Bson::String(s)) if s == "off" => None,
            Some(Bson::Document(d)) => {
                let count = |k: &str| d.get(k).and_then(arith::to_i64_exact);
                match (count("times"), count("skip")) {
                    (Some(n), None) if n >= 0 => Some(Mode::Times(n as u64)),
                    (None, Some(n)) if n >= 0 => Some(Mode::Skip(n as u64)),
                    _ => {
                        return Err(CommandError::bad_value(format!(
                            "mode must be \"alwaysOn\", \"off\", {{times: n}} or {{skip: n}}, not {}",
                            Bson::Document(d.clone())
                        )));
                    }
                }
            }
            other => {
                return Err(CommandError::bad_value(format!(
                    "mode must be \"alwaysOn\", \"off\", {{times: n}} or {{skip: n}}, not {}",
                    other.cloned().unwrap_or(Bson::Null)
                )));
            }
        };
        if name == HANG_DURING_INSERT {
            let on = match mode {
                None => false,
                Some(Mode::AlwaysOn) => true,
                Some(_) => {
                    return Err(CommandError::bad_value(format!(
                        "{HANG_DURING_INSERT} takes mode \"alwaysOn\" or \"off\" on this server"
                    )));
                }
            };
            self.hang_during_insert.store(on, Ordering::SeqCst);
            let entered = self.hang_entered.load(Ordering::SeqCst);
            return Ok(doc! {"count": i64::try_from(entered).unwrap_or(i64::MAX)});
        }
        let mut slot = self.fail_command.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mode) = mode else {
            *slot = None;
            return Ok(doc! {"count": 0i64});
        };
        let data = body.get_document("data").cloned().unwrap_or_default();
        let commands = match data.get("failCommands") {
            Some(Bson::Array(a)) => a
                .iter()
                .map(|c| c.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| CommandError::bad_value("failCommands must be command names"))?,
            _ => {
                return Err(CommandError::bad_value(
                    "failCommand requires data.failCommands: an array of command names",
                ));
            }
        };
        let labels = match data.get("errorLabels") {
            Some(Bson::Array(a)) => Some(
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        };
        let block = match (
            data.get_bool("blockConnection").unwrap_or(false),
            data.get("blockTimeMS").and_then(arith::to_i64_exact),
        ) {
            (true, Some(ms)) if ms >= 0 => Some(Duration::from_millis(ms as u64)),
            (true, _) => {
                return Err(CommandError::bad_value(
                    "blockConnection requires a non-negative blockTimeMS",
                ));
            }
            _ => None,
        };
        *slot = Some(FailCommand {
            mode,
            commands,
            error_code: data
                .get("errorCode")
                .and_then(arith::to_i64_exact)
                .map(|c| c as i32),
            labels,
            close_connection: data.get_bool("closeConnection").unwrap_or(false),
            block,
            write_concern_error: data.get_document("writeConcernError").ok().cloned(),
            app_name: data.get_str("appName").ok().map(str::to_owned),
        });
        Ok(doc! {"count": 0i64})
    }

    /// Pauses while `hangWithLockDuringBatchInsert` is on (an insert calls this holding
    /// its locks).
    pub fn hang_during_insert(&self) {
        if !self.hang_during_insert.load(Ordering::SeqCst) {
            return;
        }
        self.hang_entered.fetch_add(1, Ordering::SeqCst);
        while self.hang_during_insert.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `waitForFailPoint`: waits until the fail point `name` has been entered `times`
    /// times in all, or `deadline` passes (`MaxTimeMSExpired`, 50).
    pub fn wait_for(&self, name: &str, times: u64, deadline: Instant) -> CmdResult<()> {
        if name != HANG_DURING_INSERT {
            return Err(CommandError::bad_value(format!(
                "waitForFailPoint on this server takes {HANG_DURING_INSERT} only, not {name}"
            )));
        }
        while self.hang_entered.load(Ordering::SeqCst) < times {
            if Instant::now() >= deadline {
                return Err(crate::replset::time_limit_exceeded());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Whether `command` (from a client named `app_name`) fires the fail point, and
    /// what it does then. `retryable_write`: the command carries a transaction number
    /// outside a transaction.
    pub fn enter(
        &self,
        command: &str,
        app_name: Option<&str>,
        retryable_write: bool,
    ) -> Option<Fault> {
        if NEVER_FAILED.contains(&command) {
            return None;
        }
        let mut slot = self.fail_command.lock().unwrap_or_else(|p| p.into_inner());
        let fc = slot.as_mut()?;
        if !fc.commands.iter().any(|c| c == command) {
            return None;
        }
        if let Some(app) = &fc.app_name
            && Some(app.as_str()) != app_name
        {
            return None;
        }
        match &mut fc.mode {
            Mode::AlwaysOn => {}
            Mode::Times(0) => {
                *slot = None;
                return None;
            }
            Mode::Times(n) => *n -= 1,
            Mode::Skip(n) if *n > 0 => {
                *n -= 1;
                return None;
            }
            Mode::Skip(_) => {}
        }
        let fc = fc.clone();
        if fc.mode == Mode::Times(0) {
            *slot = None;
        }
        let error = fc.error_code.map(|code| {
            let mut e = CommandError::new(
                ErrorCode::from_code(code),
                format!("Failing command {command} via 'failCommand' failpoint"),
            );
            match &fc.labels {
                Some(labels) => {
                    for label in labels {
                        e = e.with_label(label.clone());
                    }
                }
                None if retryable_write && RETRYABLE_CODES.contains(&code) => {
                    e = e.with_label("RetryableWriteError");
                }
                None => {}
            }
            e
        });
        Some(Fault {
            block: fc.block,
            close_connection: fc.close_connection,
            error,
            write_concern_error: fc.write_concern_error.map(|mut wce| {
                if let Some(labels) = &fc.labels {
                    wce.insert("errorLabels", labels.clone());
                }
                wce
            }),
        })
    }
}
