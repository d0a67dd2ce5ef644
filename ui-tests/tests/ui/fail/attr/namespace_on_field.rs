use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    #[session(namespace = "visit")]
    count: u64,
}

fn main() {}
