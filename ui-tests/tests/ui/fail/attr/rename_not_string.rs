use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    #[session(rename = count_v1)]
    count: u64,
}

fn main() {}
