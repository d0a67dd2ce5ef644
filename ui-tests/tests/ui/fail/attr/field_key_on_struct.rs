use typed_sessions::Session;

#[derive(Session, Default)]
#[session(rename = "visit")]
struct Visit {
    count: u64,
}

fn main() {}
