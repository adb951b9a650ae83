// Transactions and change streams with Mongoose against a running odm-server.
//
// Usage: node mongoose_txn_watch.mjs mongodb://127.0.0.1:PORT/
// (copied next to a node_modules holding mongoose, so that the import resolves)
//
// Mongoose is how most Node applications meet MongoDB, and it layers its own session
// handling, validation and change-stream wrapper over the driver; this checks that
// through that layer the replica-set features still behave: connection.transaction()
// commits writes in two models, a callback that throws (here a validation error after a
// successful write) leaves nothing behind, and Model.watch() with
// fullDocument: 'updateLookup' sees an insert and an update, then closes.
// Exits non-zero (with the failing step) on any difference from MongoDB's behaviour.

import mongoose from "mongoose";
import { once } from "node:events";
import { isDeepStrictEqual } from "node:util";

// Upper bound for an event to arrive.
const EVENT_DEADLINE_MS = 10_000;

function check(step, got, expected) {
  if (!isDeepStrictEqual(got, expected)) {
    throw new Error(`${step}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }
  console.log(`ok   ${step}`);
}

const accountSchema = new mongoose.Schema({
  name: { type: String, required: true, unique: true },
  balance: { type: Number, required: true, min: 0 },
});
const transferSchema = new mongoose.Schema({
  from: { type: String, required: true },
  to: { type: String, required: true },
  amount: { type: Number, required: true, min: 1 },
});

const authorSchema = new mongoose.Schema({ name: String });
const postSchema = new mongoose.Schema({
  title: String,
  author: { type: mongoose.Schema.Types.ObjectId, ref: "Author" },
  tags: [String],
});

// What a new user tries first: populate, a $lookup report, a faceted search, a $merge.
async function populateAndAggregate(conn) {
  const Author = conn.model("Author", authorSchema);
  const Post = conn.model("Post", postSchema);
  const [ann, bob] = await Author.create([{ name: "ann" }, { name: "bob" }]);
  await Post.create([
    { title: "a", author: ann._id, tags: ["x"] },
    { title: "b", author: bob._id, tags: ["x", "y"] },
    { title: "c", author: ann._id, tags: [] },
  ]);
  const posts = await Post.find().sort({ title: 1 }).populate("author").lean();
  check("populate", posts.map((p) => [p.title, p.author.name]), [["a", "ann"], ["b", "bob"], ["c", "ann"]]);
  const joined = await Author.aggregate([
    { $sort: { name: 1 } },
    { $lookup: { from: "posts", localField: "_id", foreignField: "author", as: "posts" } },
    { $project: { _id: 0, name: 1, n: { $size: "$posts" } } },
  ]);
  check("$lookup", joined, [{ name: "ann", n: 2 }, { name: "bob", n: 1 }]);
  const [facets] = await Post.aggregate([
    { $facet: { count: [{ $count: "n" }], byTag: [{ $unwind: "$tags" }, { $sortByCount: "$tags" }] } },
  ]);
  check("$facet", facets, { count: [{ n: 3 }], byTag: [{ _id: "x", count: 2 }, { _id: "y", count: 1 }] });
  const report = [{ $group: { _id: "$author", posts: { $sum: 1 } } }, { $merge: { into: "post_counts" } }];
  await Post.aggregate(report);
  await Post.aggregate(report);
  check("$merge run twice", await conn.db.collection("post_counts").countDocuments(), 2);
}

async function balances(Account) {
  const docs = await Account.find().sort({ name: 1 }).lean();
  return Object.fromEntries(docs.map((d) => [d.name, d.balance]));
}

async function transactions(conn, Account, Transfer) {
  await Account.create([{ name: "alice", balance: 100 }, { name: "bob", balance: 50 }]);

  const result = await conn.transaction(async (session) => {
    await Account.updateOne({ name: "alice" }, { $inc: { balance: -30 } }, { session });
    await Account.updateOne({ name: "bob" }, { $inc: { balance: 30 } }, { session });
    await new Transfer({ from: "alice", to: "bob", amount: 30 }).save({ session });
    // Snapshot isolation: nobody outside the transaction sees its writes yet.
    check("uncommitted writes invisible outside", await balances(Account), { alice: 100, bob: 50 });
    return "transferred";
  });
  check("transaction returns the callback's value", result, "transferred");
  check("transfer committed", await balances(Account), { alice: 70, bob: 80 });
  check("transfer record committed", await Transfer.countDocuments(), 1);

  let thrown = null;
  try {
    await conn.transaction(async (session) => {
      await new Transfer({ from: "alice", to: "nobody", amount: 1000 }).save({ session });
      const alice = await Account.findOne({ name: "alice" }).session(session);
      alice.balance -= 1000;
      await alice.save({ session }); // fails validation: balance below min 0
    });
  } catch (e) {
    thrown = e;
  }
  check("the failing callback's ValidationError propagates", thrown instanceof mongoose.Error.ValidationError, true);
  check("aborted transaction left the balances", await balances(Account), { alice: 70, bob: 80 });
  check("aborted transaction left the transfers", await Transfer.countDocuments(), 1);
}

async function changeStreams(Account) {
  const events = [];
  let wake = null;
  const stream = Account.watch([], { fullDocument: "updateLookup" });
  stream.on("change", (change) => {
    events.push(change);
    wake?.();
  });
  const failed = once(stream, "error").then(([e]) => Promise.reject(e));
  failed.catch(() => {}); // raced below; this only keeps it from counting as unhandled
  // The driver reports the aggregate's postBatchResumeToken as the first token change:
  // from then on the stream is positioned and sees every later write. (Mongoose's
  // 'ready' comes earlier, before the aggregate has necessarily run.)
  await Promise.race([once(stream, "resumeTokenChanged"), failed]);

  const deadline = Date.now() + EVENT_DEADLINE_MS;
  async function nextChange(step) {
    while (events.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${step}: no change event within ${EVENT_DEADLINE_MS} ms`);
      let timer;
      await Promise.race([
        new Promise((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        }),
        failed,
      ]).finally(() => clearTimeout(timer));
    }
    return events.shift();
  }

  try {
    const carol = await Account.create({ name: "carol", balance: 1 });
    const inserted = await nextChange("insert event");
    check("insert event", [inserted.operationType, inserted.documentKey._id.toString()], ["insert", carol._id.toString()]);
    check("insert fullDocument", [inserted.fullDocument.name, inserted.fullDocument.balance], ["carol", 1]);

    await Account.updateOne({ _id: carol._id }, { $set: { balance: 5 } });
    const updated = await nextChange("update event");
    check("update event", [updated.operationType, updated.documentKey._id.toString()], ["update", carol._id.toString()]);
    check("update updatedFields", updated.updateDescription.updatedFields, { balance: 5 });
    check("update fullDocument (updateLookup)", [updated.fullDocument.name, updated.fullDocument.balance], ["carol", 5]);
  } finally {
    await stream.close();
  }
  check("change stream closed", stream.closed, true);
}

const conn = mongoose.createConnection(process.argv[2], { dbName: "clients_mongoose", serverSelectionTimeoutMS: 5000 });
try {
  await conn.asPromise();
  await conn.dropDatabase();
  const Account = conn.model("Account", accountSchema);
  const Transfer = conn.model("Transfer", transferSchema);
  // Collections and the unique index exist before the first transaction.
  await Promise.all([Account.init(), Transfer.init()]);
  await transactions(conn, Account, Transfer);
  await changeStreams(Account);
  await populateAndAggregate(conn);
  await conn.dropDatabase();
  console.log(`Mongoose ${mongoose.version} transactions, change streams, populate and aggregation passed`);
} catch (e) {
  console.error(`FAIL ${e.message}`);
  process.exitCode = 1;
} finally {
  await conn.close();
}
