use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    #[session(default = 5)]
    count: u64,
}

fn main() {}
