use session::Session;

#[derive(Session, Default)]
struct Nothing;

fn main() {}
