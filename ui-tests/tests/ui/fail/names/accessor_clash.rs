use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    count: u64,
    set_count: bool,
}

fn main() {}
