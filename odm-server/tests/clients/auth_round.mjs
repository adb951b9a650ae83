// Access control with the Node.js driver against an odm-server started with --auth, after
// auth_round.py created `py_root` and `py_reader`.
//
// Usage: node auth_round.mjs HOST:PORT
// Checks SCRAM-SHA-256 and SCRAM-SHA-1 logins, AuthenticationFailed (18) for a wrong
// password, Unauthorized (13) before login and for a read-only user's write.

import { MongoClient } from "mongodb";

const addr = process.argv[2];

function check(step, got, expected) {
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    console.error(`FAIL ${step}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    process.exit(1);
  }
  console.log(`ok   ${step}: ${JSON.stringify(got)}`);
}

async function codeOf(action) {
  try {
    await action();
  } catch (e) {
    return e.code;
  }
  return null;
}

function client(credentials, mechanism = "SCRAM-SHA-256", source = "admin") {
  const auth = credentials ? `${encodeURIComponent(credentials[0])}:${encodeURIComponent(credentials[1])}@` : "";
  const options = credentials ? `&authSource=${source}&authMechanism=${mechanism}` : "";
  return new MongoClient(`mongodb://${auth}${addr}/?serverSelectionTimeoutMS=5000${options}`);
}

const opened = [];
function open(...args) {
  const c = client(...args);
  opened.push(c);
  return c;
}

try {
  const anonymous = open(null);
  check("find before login", await codeOf(() => anonymous.db("shop").collection("items").findOne()), 13);

  const root = open(["py_root", "py secret"]);
  check("SCRAM-SHA-256 login", (await root.db("shop").collection("items").findOne({ _id: 1 })).name, "pen");
  const sha1 = open(["py_root", "py secret"], "SCRAM-SHA-1");
  check("SCRAM-SHA-1 login", await sha1.db("shop").collection("items").countDocuments(), 1);

  const reader = open(["py_reader", "r"], "SCRAM-SHA-256", "shop");
  check("reader writes", await codeOf(() => reader.db("shop").collection("items").insertOne({ _id: 3 })), 13);
  const wrong = open(["py_reader", "nope"], "SCRAM-SHA-256", "shop");
  check("wrong password", await codeOf(() => wrong.db("shop").command({ ping: 1 })), 18);
} finally {
  await Promise.all(opened.map((c) => c.close()));
}
