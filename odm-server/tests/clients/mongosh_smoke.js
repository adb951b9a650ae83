// A smoke test for mongosh against a running odm-server:
//   mongosh mongodb://127.0.0.1:PORT/clients_mongosh --quiet --file mongosh_smoke.js
// Throws (exit code 1) on any unexpected result.

function expect(step, got, want) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`FAIL ${step}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
  print(`ok   ${step}`);
}

db.items.drop();
const inserted = db.items.insertMany([{ a: 1, t: ["x"] }, { a: 2 }, { a: 3 }]);
expect("insertMany", Object.keys(inserted.insertedIds).length, 3);
expect("find sort", db.items.find({ a: { $gte: 2 } }, { _id: 0 }).sort({ a: -1 }).toArray(), [{ a: 3 }, { a: 2 }]);
expect("createIndex", db.items.createIndex({ a: 1 }, { unique: true }), "a_1");
let code = null;
try { db.items.insertOne({ a: 1 }); } catch (e) { code = e.code; }
expect("duplicate key", code, 11000);
expect("countDocuments", db.items.countDocuments({}), 3);
expect("getIndexes", db.items.getIndexes().map((i) => i.name), ["_id_", "a_1"]);
expect("aggregate", db.items.aggregate([{ $group: { _id: null, s: { $sum: "$a" } } }]).toArray(), [{ _id: null, s: 6 }]);
expect(
  "dateToString in a time zone",
  db.items.aggregate([{ $limit: 1 }, { $project: { _id: 0, d: { $dateToString: { date: ISODate("2024-03-05T10:00:00Z"), format: "%Y/%m/%d %H:%M", timezone: "Europe/Paris" } } } }]).toArray(),
  [{ d: "2024/03/05 11:00" }]
);
expect("currentOp", db.currentOp().inprog.length > 0, true);
expect("version", db.version(), "8.0.0");
db.items.drop();
expect("drop", db.getCollectionNames().includes("items"), false);
print("mongosh smoke test passed");
