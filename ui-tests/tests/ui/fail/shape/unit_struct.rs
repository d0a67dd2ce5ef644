use typed_sessions::Session;

#[derive(Session, Default)]
struct Nothing;

fn main() {}
