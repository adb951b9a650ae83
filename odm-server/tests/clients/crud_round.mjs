// The CRUD round with the Node.js driver against a running odm-server.
//
// Usage: node crud_round.mjs mongodb://127.0.0.1:PORT/
// Exits non-zero (with the failing step) if any result differs from MongoDB's.

import { MongoClient } from "mongodb";
import { isDeepStrictEqual } from "node:util";

function check(step, got, expected) {
  if (!isDeepStrictEqual(got, expected)) {
    console.error(`FAIL ${step}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    process.exit(1);
  }
  console.log(`ok   ${step}: ${JSON.stringify(got)}`);
}

const client = new MongoClient(process.argv[2], { serverSelectionTimeoutMS: 5000 });
try {
  await client.connect();
  check("ping", (await client.db("admin").command({ ping: 1 })).ok, 1);
  const coll = client.db("clients_node").collection("people");
  await coll.drop().catch(() => {});

  const people = Array.from({ length: 300 }, (_, i) => ({
    name: `p${String(i).padStart(3, "0")}`,
    age: i % 90,
    city: ["Paris", "Lyon", "Nice"][i % 3],
  }));
  check("insertMany", (await coll.insertMany(people)).insertedCount, 300);

  const expected = people
    .filter((p) => p.city === "Lyon" && p.age >= 80)
    .sort((a, b) => b.age - a.age || a.name.localeCompare(b.name))
    .slice(0, 4)
    .map((p) => [p.name, p.age]);
  const found = await coll.find({ city: "Lyon", age: { $gte: 80 } }).sort({ age: -1, name: 1 }).limit(4).toArray();
  check("find filter/sort/limit", found.map((d) => [d.name, d.age]), expected);

  let seen = 0;
  for await (const _ of coll.find({}, { batchSize: 7 })) seen += 1;
  check("cursor with batchSize 7", seen, 300);

  const updated = await coll.updateMany({ city: "Nice" }, { $inc: { age: 1000 }, $set: { moved: true } });
  check("updateMany matched", updated.matchedCount, 100);
  check("updateMany modified", updated.modifiedCount, 100);
  check("updated value", (await coll.findOne({ name: "p002" })).age, 1002);

  check("deleteOne", (await coll.deleteOne({ name: "p000" })).deletedCount, 1);

  check("createIndex", await coll.createIndex({ name: 1 }, { unique: true }), "name_1");
  try {
    await coll.insertOne({ name: "p001" });
    console.error("FAIL duplicate key: the insert succeeded");
    process.exit(1);
  } catch (e) {
    check("duplicate key code", e.code, 11000);
    check("duplicate key value", e.keyValue, { name: "p001" });
  }

  check("countDocuments", await coll.countDocuments({ moved: true }), 100);
  check("countDocuments all", await coll.countDocuments({}), 299);

  await coll.drop();
  const names = (await client.db("clients_node").listCollections().toArray()).map((c) => c.name);
  check("drop", names.includes("people"), false);
  console.log("Node.js driver CRUD round passed");
} finally {
  await client.close();
}
