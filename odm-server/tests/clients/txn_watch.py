"""Transactions and change streams with pymongo against a running odm-server.

Usage: python3 txn_watch.py mongodb://127.0.0.1:PORT/
The server must run with --enable-test-commands: the with_transaction retry is forced
with a failCommand fail point.

The server is the primary of a one-member replica set so that drivers offer sessions,
transactions and change streams; this checks them as pymongo uses them, not as the
server's own tests send them: with_transaction commits writes in two collections, an
exception aborts them, a second transaction writing the same document gets WriteConflict
labelled TransientTransactionError (what drivers retry on), with_transaction really runs
the callback again after such an error, and watch() delivers insert, update, replace and
delete in order, looks up the full document, and resumes after a token.
Exits non-zero (with the failing step) if anything differs from MongoDB's behaviour.
"""

import sys
import time

import pymongo
from pymongo.errors import OperationFailure

WRITE_CONFLICT = 112
TRANSIENT = "TransientTransactionError"
# Upper bound for an event to arrive; each getMore waits up to AWAIT_MS for it.
EVENT_DEADLINE_S = 10
AWAIT_MS = 500


def check(step, got, expected):
    assert got == expected, f"{step}: expected {expected!r}, got {got!r}"
    print(f"ok   {step}")


def next_events(stream, n, step):
    """The next n events of stream, failing the step if they do not all come in time."""
    events = []
    deadline = time.monotonic() + EVENT_DEADLINE_S
    while len(events) < n:
        assert time.monotonic() < deadline, (
            f"{step}: got {len(events)} of {n} events within {EVENT_DEADLINE_S}s: {events!r}"
        )
        event = stream.try_next()
        if event is not None:
            events.append(event)
    return events


def balances(accounts):
    return {d["_id"]: d["balance"] for d in accounts.find()}


def transactions(client, db):
    accounts, ledger = db["accounts"], db["ledger"]
    accounts.insert_many([{"_id": "alice", "balance": 100}, {"_id": "bob", "balance": 50}])

    # Opened before any transaction (pymongo sends the aggregate here), so that the
    # committed transfer's events must reach it and the aborted transaction's must not.
    with accounts.watch(max_await_time_ms=AWAIT_MS) as stream, client.start_session() as session:

        def transfer(s):
            accounts.update_one({"_id": "alice"}, {"$inc": {"balance": -30}}, session=s)
            accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 30}}, session=s)
            ledger.insert_one({"from": "alice", "to": "bob", "amount": 30}, session=s)
            # Snapshot isolation: nobody outside the transaction sees its writes yet.
            check("uncommitted writes invisible outside", balances(accounts), {"alice": 100, "bob": 50})
            check("transaction reads its own writes",
                  accounts.find_one({"_id": "alice"}, session=s)["balance"], 70)
            return "transferred"

        check("with_transaction returns the callback's value", session.with_transaction(transfer), "transferred")
        check("transfer committed", balances(accounts), {"alice": 70, "bob": 80})
        check("ledger committed", ledger.count_documents({}), 1)

        events = next_events(stream, 2, "transfer events")
        check("transfer events", [(e["operationType"], e["documentKey"]["_id"]) for e in events],
              [("update", "alice"), ("update", "bob")])
        # Applications tell a transaction's events apart by these fields.
        check("transfer events carry the session", [e.get("lsid") for e in events], [session.session_id] * 2)
        numbers = {e.get("txnNumber") for e in events}
        check("transfer events carry one txnNumber", len(numbers) == 1 and isinstance(numbers.pop(), int), True)

        class Refused(Exception):
            pass

        def refuse(s):
            accounts.update_one({"_id": "alice"}, {"$inc": {"balance": -1000}}, session=s)
            ledger.insert_one({"from": "alice", "to": "nobody", "amount": 1000}, session=s)
            raise Refused("insufficient funds")

        try:
            session.with_transaction(refuse)
            raise AssertionError("with_transaction(refuse): the callback's exception was swallowed")
        except Refused:
            pass
        check("aborted transaction left the balances", balances(accounts), {"alice": 70, "bob": 80})
        check("aborted transaction left the ledger", ledger.count_documents({}), 1)
        # The stream must show nothing of the aborted transaction: the next event is this.
        accounts.update_one({"_id": "bob"}, {"$set": {"marker": True}})
        (marker,) = next_events(stream, 1, "event after the abort")
        check("aborted transaction produced no event",
              (marker["operationType"], marker["documentKey"]["_id"], marker.get("txnNumber")),
              ("update", "bob", None))

    with client.start_session() as first, client.start_session() as second:
        first.start_transaction()
        accounts.update_one({"_id": "alice"}, {"$inc": {"balance": -5}}, session=first)
        second.start_transaction()
        try:
            accounts.update_one({"_id": "alice"}, {"$inc": {"balance": -7}}, session=second)
            raise AssertionError("conflicting write: the second transaction's update succeeded")
        except OperationFailure as exc:
            check("conflicting write code", exc.code, WRITE_CONFLICT)
            check(f"conflicting write labelled {TRANSIENT}", exc.has_error_label(TRANSIENT), True)
        second.abort_transaction()
        first.commit_transaction()
        check("the first writer's transaction committed", balances(accounts)["alice"], 65)

    # The fail point fails the next insert once, as a real write conflict would; the
    # callback must then run a second time and commit exactly one document.
    enabled = client.admin.command({"getParameter": 1, "enableTestCommands": 1})["enableTestCommands"]
    assert enabled, "start odm-server with --enable-test-commands: this step needs the failCommand fail point"
    attempts = []

    def record_attempt(s):
        attempts.append(len(attempts) + 1)
        ledger.insert_one({"retry": True, "attempt": len(attempts)}, session=s)

    client.admin.command({
        "configureFailPoint": "failCommand",
        "mode": {"times": 1},
        "data": {"failCommands": ["insert"], "errorCode": WRITE_CONFLICT, "errorLabels": [TRANSIENT]},
    })
    try:
        with client.start_session() as session:
            session.with_transaction(record_attempt)
    finally:
        client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    check("with_transaction ran the callback again after the transient error", attempts, [1, 2])
    check("the retried transaction committed once",
          [d["attempt"] for d in ledger.find({"retry": True})], [2])


def change_streams(db):
    coll = db["watched"]
    coll.insert_one({"_id": "before", "n": 0})
    with coll.watch(full_document="updateLookup", max_await_time_ms=AWAIT_MS) as stream:
        coll.insert_one({"_id": 1, "n": 1, "tag": "a"})
        coll.update_one({"_id": 1}, {"$set": {"tag": "b"}, "$inc": {"n": 1}, "$unset": {"gone": ""}})
        # Read before the next writes: updateLookup returns the document as it is when
        # the event is read, and it must still be the updated one here.
        inserted, updated = next_events(stream, 2, "insert and update events")
        coll.replace_one({"_id": 1}, {"n": 10, "replaced": True})
        coll.delete_one({"_id": 1})
        replaced, deleted = next_events(stream, 2, "replace and delete events")

    check("event order", [e["operationType"] for e in (inserted, updated, replaced, deleted)],
          ["insert", "update", "replace", "delete"])
    check("namespace", inserted["ns"], {"db": db.name, "coll": "watched"})
    check("document keys", [e["documentKey"] for e in (inserted, updated, replaced, deleted)], [{"_id": 1}] * 4)
    check("insert fullDocument", inserted["fullDocument"], {"_id": 1, "n": 1, "tag": "a"})
    check("update updatedFields", updated["updateDescription"]["updatedFields"], {"tag": "b", "n": 2})
    check("update removedFields", updated["updateDescription"]["removedFields"], [])
    check("update fullDocument (updateLookup)", updated["fullDocument"], {"_id": 1, "n": 2, "tag": "b"})
    check("replace fullDocument", replaced["fullDocument"], {"_id": 1, "n": 10, "replaced": True})
    check("delete has no fullDocument", deleted.get("fullDocument"), None)
    times = [e["clusterTime"] for e in (inserted, updated, replaced, deleted)]
    check("clusterTime increases", times, sorted(set(times)))

    # Resuming after the insert must replay exactly what followed it, with the same tokens.
    with coll.watch(resume_after=inserted["_id"], full_document="updateLookup",
                    max_await_time_ms=AWAIT_MS) as resumed:
        again = next_events(resumed, 3, "resumed events")
    check("resume_after replays the following events",
          [(e["operationType"], e["_id"]) for e in again],
          [(e["operationType"], e["_id"]) for e in (updated, replaced, deleted)])
    # The document is gone by now, so the lookup finds nothing; mongod says so with null.
    check("updateLookup of a deleted document is null",
          ("fullDocument" in again[0], again[0].get("fullDocument")), (True, None))


def main(uri):
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    check("ping", client.admin.command("ping")["ok"], 1.0)
    client.drop_database("clients_py_txn")
    db = client["clients_py_txn"]
    try:
        transactions(client, db)
        change_streams(db)
    except AssertionError as exc:
        sys.exit(f"FAIL {exc}")
    client.drop_database("clients_py_txn")
    client.close()
    print("pymongo transactions and change streams passed")


if __name__ == "__main__":
    main(sys.argv[1])
