use serde::Serialize;
use typed_sessions::Session;

#[derive(Default, Clone, Serialize)]
struct WriteOnly {
    value: u64,
}

#[derive(Session, Default)]
struct Visit {
    count: u64,
    data: WriteOnly,
}

fn main() {}
