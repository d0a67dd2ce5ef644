use typed_sessions::Session;

#[derive(Session, Default)]
#[session(namespace = "my.app")]
struct Visit {
    count: u64,
}

fn main() {}
