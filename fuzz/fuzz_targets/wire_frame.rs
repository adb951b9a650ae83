//! The wire frame parser: any bytes either parse or are refused, never panic; a frame
//! that parses, encoded again the way a driver encodes it, parses to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odm_server::wire::{self, Request, op_msg};

fuzz_target!(|data: &[u8]| {
    let mut body = Vec::new();
    let Ok(Some(header)) = wire::read_message_blocking(&mut &data[..], &mut body) else {
        return;
    };
    let Ok(request) = wire::parse_request(&header, &body) else {
        return;
    };
    let Request::Msg(msg) = request else {
        return;
    };
    // The checksum bit is dropped: the copy is compared, not the bytes.
    let flags = msg.flags & !op_msg::CHECKSUM_PRESENT;
    let documents: Vec<bson::Document> = msg
        .documents
        .iter()
        .flat_map(|seq| seq.iter())
        .map(|raw| raw.try_into().expect("a kept document decodes"))
        .collect();
    let sequences: Vec<(&str, Vec<bson::Document>)> = match &msg.documents {
        Some(_) => vec![("documents", documents.clone())],
        None => Vec::new(),
    };
    let again = op_msg::encode_request(header.request_id, flags, &msg.body, &sequences);
    let mut body2 = Vec::new();
    let header2 = wire::read_message_blocking(&mut &again[..], &mut body2)
        .expect("a re-encoded frame reads")
        .expect("a re-encoded frame is there");
    let Request::Msg(msg2) =
        wire::parse_request(&header2, &body2).expect("a re-encoded frame parses")
    else {
        panic!("an OP_MSG encoded again is not an OP_MSG");
    };
    assert_eq!(msg2.flags, flags);
    assert_eq!(msg2.body, msg.body);
    let documents2: Vec<bson::Document> = msg2
        .documents
        .iter()
        .flat_map(|seq| seq.iter())
        .map(|raw| raw.try_into().expect("a kept document decodes"))
        .collect();
    assert_eq!(documents2, documents);
});
