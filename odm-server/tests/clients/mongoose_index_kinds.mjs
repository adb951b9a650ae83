// Mongoose models that ordinary applications declare, against a running odm-server:
// a store locator (GeoJSON points with a 2dsphere index), a search box (a weighted text
// index), case-insensitive unique e-mails (an index collation), an event log (a capped
// collection), metrics (a time-series collection) and a hashed index.
//
// Usage: node mongoose_index_kinds.mjs mongodb://127.0.0.1:PORT/
// (copied next to a node_modules holding mongoose, so that the import resolves)
// Exits non-zero (with the failing step) on any difference from MongoDB's behaviour.

import mongoose from "mongoose";
import { isDeepStrictEqual } from "node:util";

function check(step, got, expected) {
  if (!isDeepStrictEqual(got, expected)) {
    throw new Error(`${step}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }
  console.log(`ok   ${step}`);
}

const pointSchema = new mongoose.Schema(
  { type: { type: String, enum: ["Point"], required: true }, coordinates: { type: [Number], required: true } },
  { _id: false },
);

const storeSchema = new mongoose.Schema({ name: String, location: pointSchema });
storeSchema.index({ location: "2dsphere" });

const postSchema = new mongoose.Schema({ title: String, body: String });
postSchema.index({ title: "text", body: "text" }, { weights: { title: 10, body: 2 } });

const accountSchema = new mongoose.Schema({ email: String, user: String });
accountSchema.index({ email: 1 }, { unique: true, collation: { locale: "en", strength: 2 } });
accountSchema.index({ user: "hashed" });

const eventSchema = new mongoose.Schema({ message: String }, { capped: { size: 1 << 20, max: 3 } });

const metricSchema = new mongoose.Schema(
  { ts: Date, sensor: String, value: Number },
  { timeseries: { timeField: "ts", metaField: "sensor", granularity: "minutes" } },
);

const uri = process.argv[2];
await mongoose.connect(uri + "clients_mongoose_kinds");
await mongoose.connection.dropDatabase();

const Store = mongoose.model("Store", storeSchema);
const Post = mongoose.model("Post", postSchema);
const Account = mongoose.model("Account", accountSchema);
const Event = mongoose.model("Event", eventSchema);
const Metric = mongoose.model("Metric", metricSchema);
for (const model of [Store, Post, Account, Event, Metric]) {
  await model.init();
}

await Store.create([
  { name: "Paris", location: { type: "Point", coordinates: [2.3522, 48.8566] } },
  { name: "London", location: { type: "Point", coordinates: [-0.1276, 51.5072] } },
  { name: "Berlin", location: { type: "Point", coordinates: [13.405, 52.52] } },
]);
const near = await Store.find({
  location: { $near: { $geometry: { type: "Point", coordinates: [2.35, 48.85] }, $maxDistance: 400_000 } },
});
check("stores near Paris within 400 km", near.map((s) => s.name), ["Paris", "London"]);
const nearest = await Store.aggregate([
  { $geoNear: { near: { type: "Point", coordinates: [2.35, 48.85] }, distanceField: "km", distanceMultiplier: 0.001 } },
  { $project: { _id: 0, name: 1, km: { $round: ["$km", 0] } } },
]);
check("$geoNear distances", nearest, [
  { name: "Paris", km: 1 },
  { name: "London", km: 344 },
  { name: "Berlin", km: 879 },
]);

await Post.create([
  { title: "Rust for databases", body: "an embedded server" },
  { title: "Gardening", body: "rust on tools, and how to clean it" },
  { title: "Cooking", body: "nothing to see" },
]);
const hits = await Post.find({ $text: { $search: "rust" } }, { score: { $meta: "textScore" } }).sort({
  score: { $meta: "textScore" },
});
check("text search, best first", hits.map((p) => p.title), ["Rust for databases", "Gardening"]);

await Account.create({ email: "ann@x.com", user: "ann" });
try {
  await Account.create({ email: "Ann@X.com", user: "ann2" });
  throw new Error("case-insensitive unique e-mail: the second create was accepted");
} catch (e) {
  check("case-insensitive unique e-mail", e.code, 11000);
}
check("hashed index lookup", await Account.countDocuments({ user: "ann" }), 1);

for (let i = 0; i < 5; i++) {
  await Event.create({ message: `event ${i}` });
}
check("capped event log keeps the newest", (await Event.find()).map((e) => e.message), ["event 2", "event 3", "event 4"]);

const t0 = new Date("2026-01-01T00:00:00Z");
await Metric.insertMany(
  [0, 1, 2, 3].map((i) => ({ ts: new Date(t0.getTime() + i * 60_000), sensor: i % 2 ? "b" : "a", value: i })),
);
const sums = await Metric.aggregate([{ $group: { _id: "$sensor", total: { $sum: "$value" } } }, { $sort: { _id: 1 } }]);
check("time-series aggregation", sums, [
  { _id: "a", total: 2 },
  { _id: "b", total: 4 },
]);
const info = await mongoose.connection.db.listCollections({ name: "metrics" }).toArray();
check("time-series collection type", info[0].type, "timeseries");

await mongoose.disconnect();
console.log("Mongoose index and collection kinds passed");
