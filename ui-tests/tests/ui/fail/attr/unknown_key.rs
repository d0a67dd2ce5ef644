use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    #[session(colour = "red")]
    count: u64,
}

fn main() {}
