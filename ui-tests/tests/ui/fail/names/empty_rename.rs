use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    #[session(rename = "")]
    count: u64,
}

fn main() {}
