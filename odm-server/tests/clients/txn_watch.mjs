// Transactions and change streams with the Node.js driver against a running odm-server.
//
// Usage: node txn_watch.mjs mongodb://127.0.0.1:PORT/
// (copied next to a node_modules holding mongodb@7, so that the import resolves)
//
// The server is the primary of a one-member replica set so that drivers offer sessions,
// transactions and change streams; this checks them as the Node driver uses them:
// withTransaction commits writes in two collections and an exception thrown inside
// aborts them, a second transaction writing the same document gets WriteConflict
// labelled TransientTransactionError (what drivers retry on), withTransaction runs the
// callback again after such an error (forced with a failCommand fail point, so the server
// must run with --enable-test-commands), and watch() with fullDocument: 'updateLookup'
// delivers insert, update, replace and delete in order and resumes after a token.
// Exits non-zero (with the failing step) on any difference from MongoDB's behaviour.

import { MongoClient, MongoServerError } from "mongodb";
import { isDeepStrictEqual } from "node:util";

const WRITE_CONFLICT = 112;
const TRANSIENT = "TransientTransactionError";
// Upper bound for an event to arrive; each getMore waits up to AWAIT_MS for it.
const EVENT_DEADLINE_MS = 10_000;
const AWAIT_MS = 500;

function check(step, got, expected) {
  if (!isDeepStrictEqual(got, expected)) {
    throw new Error(`${step}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }
  console.log(`ok   ${step}`);
}

// The next n events of stream, failing the step if they do not all come in time.
async function nextEvents(stream, n, step) {
  const events = [];
  const deadline = Date.now() + EVENT_DEADLINE_MS;
  while (events.length < n) {
    if (Date.now() >= deadline) {
      throw new Error(`${step}: got ${events.length} of ${n} events within ${EVENT_DEADLINE_MS} ms: ${JSON.stringify(events)}`);
    }
    const event = await stream.tryNext();
    if (event !== null) events.push(event);
  }
  return events;
}

async function balances(accounts) {
  const docs = await accounts.find().sort({ _id: 1 }).toArray();
  return Object.fromEntries(docs.map((d) => [d._id, d.balance]));
}

async function transactions(client, db) {
  const accounts = db.collection("accounts");
  const ledger = db.collection("ledger");
  await accounts.insertMany([{ _id: "alice", balance: 100 }, { _id: "bob", balance: 50 }]);

  const session = client.startSession();
  try {
    await session.withTransaction(async () => {
      await accounts.updateOne({ _id: "alice" }, { $inc: { balance: -30 } }, { session });
      await accounts.updateOne({ _id: "bob" }, { $inc: { balance: 30 } }, { session });
      await ledger.insertOne({ from: "alice", to: "bob", amount: 30 }, { session });
      // Snapshot isolation: nobody outside the transaction sees its writes yet.
      check("uncommitted writes invisible outside", await balances(accounts), { alice: 100, bob: 50 });
    });
    check("transfer committed", await balances(accounts), { alice: 70, bob: 80 });
    check("ledger committed", await ledger.countDocuments(), 1);

    const refused = new Error("insufficient funds");
    let thrown = null;
    try {
      await session.withTransaction(async () => {
        await accounts.updateOne({ _id: "alice" }, { $inc: { balance: -1000 } }, { session });
        await ledger.insertOne({ from: "alice", to: "nobody", amount: 1000 }, { session });
        throw refused;
      });
    } catch (e) {
      thrown = e;
    }
    check("withTransaction rethrows the callback's error", thrown === refused, true);
    check("aborted transaction left the balances", await balances(accounts), { alice: 70, bob: 80 });
    check("aborted transaction left the ledger", await ledger.countDocuments(), 1);
  } finally {
    await session.endSession();
  }

  const first = client.startSession();
  const second = client.startSession();
  try {
    first.startTransaction();
    await accounts.updateOne({ _id: "alice" }, { $inc: { balance: -5 } }, { session: first });
    second.startTransaction();
    let conflict = null;
    try {
      await accounts.updateOne({ _id: "alice" }, { $inc: { balance: -7 } }, { session: second });
    } catch (e) {
      conflict = e;
    }
    check("conflicting write fails with a server error", conflict instanceof MongoServerError, true);
    check("conflicting write code", conflict.code, WRITE_CONFLICT);
    check(`conflicting write labelled ${TRANSIENT}`, conflict.hasErrorLabel(TRANSIENT), true);
    await second.abortTransaction();
    await first.commitTransaction();
    check("the first writer's transaction committed", (await balances(accounts)).alice, 65);
  } finally {
    await first.endSession();
    await second.endSession();
  }

  // The fail point fails the next insert once, as a real write conflict would; the
  // callback must then run a second time and commit exactly one document.
  const { enableTestCommands } = await client.db("admin").command({ getParameter: 1, enableTestCommands: 1 });
  if (!enableTestCommands) {
    throw new Error("start odm-server with --enable-test-commands: the withTransaction retry step needs the failCommand fail point");
  }
  const retried = client.startSession();
  let attempts = 0;
  await client.db("admin").command({
    configureFailPoint: "failCommand",
    mode: { times: 1 },
    data: { failCommands: ["insert"], errorCode: WRITE_CONFLICT, errorLabels: [TRANSIENT] },
  });
  try {
    await retried.withTransaction(async () => {
      attempts += 1;
      await ledger.insertOne({ retry: true, attempt: attempts }, { session: retried });
    });
  } finally {
    await client.db("admin").command({ configureFailPoint: "failCommand", mode: "off" });
    await retried.endSession();
  }
  check("withTransaction ran the callback again after the transient error", attempts, 2);
  check("the retried transaction committed once", (await ledger.find({ retry: true }).toArray()).map((d) => d.attempt), [2]);
}

async function changeStreams(db) {
  const coll = db.collection("watched");
  await coll.insertOne({ _id: "before", n: 0 });
  const summary = (e) => ({ type: e.operationType, key: e.documentKey });

  const stream = coll.watch([], { fullDocument: "updateLookup", maxAwaitTimeMS: AWAIT_MS });
  let inserted, updated, replaced, deleted;
  try {
    // tryNext sends the aggregate: the stream starts here, before the writes.
    check("no event before the writes", await stream.tryNext(), null);
    await coll.insertOne({ _id: 1, n: 1, tag: "a" });
    await coll.updateOne({ _id: 1 }, { $set: { tag: "b" }, $inc: { n: 1 }, $unset: { gone: "" } });
    // Read before the next writes: updateLookup returns the document as it is when the
    // event is read, and it must still be the updated one here.
    [inserted, updated] = await nextEvents(stream, 2, "insert and update events");
    await coll.replaceOne({ _id: 1 }, { n: 10, replaced: true });
    await coll.deleteOne({ _id: 1 });
    [replaced, deleted] = await nextEvents(stream, 2, "replace and delete events");
  } finally {
    await stream.close();
  }

  const all = [inserted, updated, replaced, deleted];
  check("event order", all.map(summary), ["insert", "update", "replace", "delete"].map((type) => ({ type, key: { _id: 1 } })));
  check("namespace", inserted.ns, { db: db.databaseName, coll: "watched" });
  check("insert fullDocument", inserted.fullDocument, { _id: 1, n: 1, tag: "a" });
  check("update updatedFields", updated.updateDescription.updatedFields, { tag: "b", n: 2 });
  check("update removedFields", updated.updateDescription.removedFields, []);
  check("update fullDocument (updateLookup)", updated.fullDocument, { _id: 1, n: 2, tag: "b" });
  check("replace fullDocument", replaced.fullDocument, { _id: 1, n: 10, replaced: true });
  check("delete has no fullDocument", deleted.fullDocument, undefined);

  // Resuming after the insert must replay exactly what followed it, with the same tokens.
  const resumed = coll.watch([], { resumeAfter: inserted._id, fullDocument: "updateLookup", maxAwaitTimeMS: AWAIT_MS });
  try {
    const again = await nextEvents(resumed, 3, "resumed events");
    check("resumeAfter replays the following events", again.map((e) => [e.operationType, e._id]), [updated, replaced, deleted].map((e) => [e.operationType, e._id]));
  } finally {
    await resumed.close();
  }
}

const client = new MongoClient(process.argv[2], { serverSelectionTimeoutMS: 5000 });
try {
  await client.connect();
  check("ping", (await client.db("admin").command({ ping: 1 })).ok, 1);
  const db = client.db("clients_node_txn");
  await db.dropDatabase();
  await transactions(client, db);
  await changeStreams(db);
  await db.dropDatabase();
  console.log("Node.js driver transactions and change streams passed");
} catch (e) {
  console.error(`FAIL ${e.message}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
