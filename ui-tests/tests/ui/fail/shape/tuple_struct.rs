use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit(u64, String);

fn main() {}
