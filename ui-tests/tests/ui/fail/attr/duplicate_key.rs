use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    #[session(rename = "n", rename = "m")]
    count: u64,
}

fn main() {}
