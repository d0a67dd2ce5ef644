use serde::Serialize;
use session::Session;

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
