//! What the server says about its replica set: the one member, its name and address,
//! and the identifiers drivers use to tell configurations and elections apart.
//!
//! The set never changes while the server runs (one member, always primary), so
//! `topologyVersion.counter` stays 0, and an awaitable `hello` just waits its
//! `maxAwaitTimeMS` (or for shutdown) before answering the same thing again.

use bson::oid::ObjectId;
use bson::{DateTime, Document, Timestamp, doc};

/// The set's configuration version (`setVersion`, `config.version`).
pub const SET_VERSION: i32 = 1;
/// The election term: one election, ever.
pub const TERM: i64 = 1;

pub struct Topology {
    /// `None`: a standalone server (no set, no transactions, no oplog visible).
    pub set_name: Option<String>,
    /// `host:port` the member is known by (`me`, `hosts`, `primary`).
    pub me: String,
    /// Identifies this process's topology descriptions (`topologyVersion.processId`).
    pub process_id: ObjectId,
    /// Identifies the election that made this member primary.
    pub election_id: ObjectId,
    /// When the member became primary.
    pub elected: DateTime,
}

impl Topology {
    pub fn new(set_name: Option<String>, me: String) -> Topology {
        Topology {
            set_name,
            me,
            process_id: ObjectId::new(),
            // mongod's election ids are the max ObjectId of the term: 7fffffff + term.
            election_id: ObjectId::from_bytes([
                0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, TERM as u8,
            ]),
            elected: DateTime::now(),
        }
    }

    pub fn topology_version(&self) -> Document {
        doc! {"processId": self.process_id, "counter": 0i64}
    }

    /// The replica-set fields of `hello` for a primary whose last write is `last`.
    pub fn hello_fields(&self, set_name: &str, last: Timestamp, last_wall: DateTime) -> Document {
        let optime = doc! {"ts": last, "t": TERM};
        doc! {
            "topologyVersion": self.topology_version(),
            "hosts": [&self.me],
            "setName": set_name,
            "setVersion": SET_VERSION,
            "secondary": false,
            "primary": &self.me,
            "me": &self.me,
            "electionId": self.election_id,
            "lastWrite": {
                "opTime": optime.clone(),
                "lastWriteDate": last_wall,
                "majorityOpTime": optime,
                "majorityWriteDate": last_wall,
            },
        }
    }

    /// `replSetGetConfig`'s `config`.
    pub fn config(&self, set_name: &str) -> Document {
        doc! {
            "_id": set_name,
            "version": SET_VERSION,
            "term": TERM,
            "members": [{
                "_id": 0,
                "host": &self.me,
                "arbiterOnly": false,
                "buildIndexes": true,
                "hidden": false,
                "priority": 1.0,
                "tags": {},
                "secondaryDelaySecs": 0i64,
                "votes": 1,
            }],
            "protocolVersion": 1i64,
            "writeConcernMajorityJournalDefault": true,
            "settings": {
                "chainingAllowed": true,
                "heartbeatIntervalMillis": 2000,
                "heartbeatTimeoutSecs": 10,
                "electionTimeoutMillis": 10000,
                "catchUpTimeoutMillis": -1,
                "catchUpTakeoverDelayMillis": 30000,
                "getLastErrorModes": {},
                "getLastErrorDefaults": {"w": 1, "wtimeout": 0},
                "replicaSetId": self.election_id,
            },
        }
    }

    /// `replSetGetStatus` for the one member, up `uptime_secs`.
    pub fn status(
        &self,
        set_name: &str,
        last: Timestamp,
        last_wall: DateTime,
        uptime_secs: i64,
    ) -> Document {
        let optime = doc! {"ts": last, "t": TERM};
        doc! {
            "set": set_name,
            "date": DateTime::now(),
            "myState": 1,
            "term": TERM,
            "syncSourceHost": "",
            "syncSourceId": -1,
            "heartbeatIntervalMillis": 2000i64,
            "majorityVoteCount": 1,
            "writeMajorityCount": 1,
            "votingMembersCount": 1,
            "writableVotingMembersCount": 1,
            "optimes": {
                "lastCommittedOpTime": optime.clone(),
                "lastCommittedWallTime": last_wall,
                "readConcernMajorityOpTime": optime.clone(),
                "appliedOpTime": optime.clone(),
                "durableOpTime": optime.clone(),
                "lastAppliedWallTime": last_wall,
                "lastDurableWallTime": last_wall,
            },
            "members": [{
                "_id": 0,
                "name": &self.me,
                "health": 1.0,
                "state": 1,
                "stateStr": "PRIMARY",
                "uptime": uptime_secs,
                "optime": optime.clone(),
                "optimeDate": DateTime::from_millis(i64::from(last.time) * 1000),
                "lastAppliedWallTime": last_wall,
                "lastDurableWallTime": last_wall,
                "syncSourceHost": "",
                "syncSourceId": -1,
                "infoMessage": "",
                "electionTime": Timestamp { time: (self.elected.timestamp_millis() / 1000) as u32, increment: 1 },
                "electionDate": self.elected,
                "configVersion": SET_VERSION,
                "configTerm": TERM,
                "self": true,
                "lastHeartbeatMessage": "",
            }],
        }
    }
}
