"""The CRUD round with pymongo against a running odm-server.

Usage: python3 crud_round.py mongodb://127.0.0.1:PORT/
Exits non-zero (with the failing step) if any result differs from MongoDB's.
"""

import sys

import pymongo
from pymongo.errors import DuplicateKeyError


def check(step, got, expected):
    if got != expected:
        sys.exit(f"FAIL {step}: expected {expected!r}, got {got!r}")
    print(f"ok   {step}: {got!r}")


def main(uri):
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    check("ping", client.admin.command("ping")["ok"], 1.0)
    coll = client["clients_py"]["people"]
    coll.drop()

    people = [{"name": f"p{i:03}", "age": i % 90, "city": ["Paris", "Lyon", "Nice"][i % 3]} for i in range(300)]
    check("insert_many", len(coll.insert_many(people).inserted_ids), 300)

    found = list(coll.find({"city": "Lyon", "age": {"$gte": 80}}).sort([("age", -1), ("name", 1)]).limit(4))
    expected = sorted(
        [(d["name"], d["age"]) for d in people if d["city"] == "Lyon" and d["age"] >= 80],
        key=lambda t: (-t[1], t[0]),
    )[:4]
    check("find filter/sort/limit", [(d["name"], d["age"]) for d in found], expected)

    cursor = coll.find({}, batch_size=7)
    seen = 0
    for _ in cursor:
        seen += 1
    check("cursor with batch_size=7", seen, 300)

    result = coll.update_many({"city": "Nice"}, {"$inc": {"age": 1000}, "$set": {"moved": True}})
    check("update_many matched", result.matched_count, 100)
    check("update_many modified", result.modified_count, 100)
    check("updated value", coll.find_one({"name": "p002"})["age"], 1002)

    check("delete_one", coll.delete_one({"name": "p000"}).deleted_count, 1)

    check("create_index", coll.create_index("name", unique=True), "name_1")
    try:
        coll.insert_one({"name": "p001"})
        sys.exit("FAIL duplicate key: the insert succeeded")
    except DuplicateKeyError as e:
        check("duplicate key code", e.code, 11000)
        check("duplicate key value", e.details.get("keyValue"), {"name": "p001"})

    check("count_documents", coll.count_documents({"moved": True}), 100)
    check("count_documents all", coll.count_documents({}), 299)

    coll.drop()
    check("drop", "people" in client["clients_py"].list_collection_names(), False)
    print("pymongo CRUD round passed")


if __name__ == "__main__":
    main(sys.argv[1])
