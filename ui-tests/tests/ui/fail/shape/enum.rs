use typed_sessions::Session;

#[derive(Session)]
enum Visit {
    New,
    Returning(u64),
}

fn main() {}
