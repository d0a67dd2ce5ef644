use typed_sessions::Session;

#[derive(Default, Clone)]
struct Opaque;

#[derive(Session, Default)]
struct Visit {
    count: u64,
    opaque: Opaque,
}

fn main() {}
