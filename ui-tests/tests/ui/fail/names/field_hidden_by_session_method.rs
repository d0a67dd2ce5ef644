use session::Session;

#[derive(Session, Default)]
struct Draft {
    save: bool,
}

fn main() {}
