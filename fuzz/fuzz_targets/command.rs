//! The command path: any frame, through the wire parser, the command parser and the
//! command itself, on a fresh in-memory server. A reply is always one well-formed frame
//! with `ok` (and `code` and `errmsg` on failure), and the server answers `ping` after.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odm_server::fuzzing::CommandHarness;

/// Arguments that make a command wait (for a topology change, a tailable cursor's data,
/// a lock) rather than fail: slow, not wrong, so not what this target looks for.
const WAITS: &[&[u8]] = &[
    b"maxAwaitTimeMS",
    b"maxTimeMS",
    b"blockTimeMS",
    b"awaitData",
];

fuzz_target!(|data: &[u8]| {
    if WAITS.iter().any(|w| data.windows(w.len()).any(|s| s == *w)) {
        return;
    }
    let mut server = CommandHarness::new();
    let _ = server.run_frame(data);
    server.assert_serving();
});
