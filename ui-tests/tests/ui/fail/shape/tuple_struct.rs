use session::Session;

#[derive(Session, Default)]
struct Visit(u64, String);

fn main() {}
