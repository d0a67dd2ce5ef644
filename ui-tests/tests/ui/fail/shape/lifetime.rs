use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit<'a> {
    user: &'a str,
}

fn main() {}
