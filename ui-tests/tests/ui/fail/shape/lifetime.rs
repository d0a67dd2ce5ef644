use session::Session;

#[derive(Session, Default)]
struct Visit<'a> {
    user: &'a str,
}

fn main() {}
