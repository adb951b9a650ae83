// TLS with the Node.js driver against an odm-server started with --tls-cert/--tls-key.
//
// Usage: node tls_round.mjs HOST:PORT CA.pem
// Connects with tls=true trusting the test CA, reads what tls_round.py wrote.

import { MongoClient } from "mongodb";

const [addr, ca] = process.argv.slice(2);
const client = new MongoClient(`mongodb://${addr}/?tls=true&serverSelectionTimeoutMS=3000`, { tlsCAFile: ca });
try {
  const doc = await client.db("clients_tls").collection("items").findOne({ _id: 1 });
  if (doc?.note !== "over tls") {
    console.error(`FAIL read over TLS: got ${JSON.stringify(doc)}`);
    process.exit(1);
  }
  console.log(`ok   Node.js driver over TLS: "${doc.note}"`);
} finally {
  await client.close();
}
