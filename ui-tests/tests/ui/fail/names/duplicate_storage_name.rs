use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    count: u64,
    #[session(rename = "count")]
    total: u64,
}

fn main() {}
