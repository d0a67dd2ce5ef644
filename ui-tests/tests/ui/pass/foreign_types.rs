use typed_sessions::Session;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

#[derive(Session, Default)]
struct Everything {
    ip: Option<IpAddr>,
    timeout: Duration,
    roles: HashSet<String>,
    scores: BTreeMap<String, f64>,
    pair: (u8, i64),
    bytes: Vec<u8>,
    nested: Option<Box<Vec<Option<String>>>>,
}

fn handler(all: Session<Everything>) -> usize {
    all.roles().len() + all.scores().len() + all.bytes().len() + usize::from(all.pair().0)
}

fn main() {
    let _ = handler;
}
