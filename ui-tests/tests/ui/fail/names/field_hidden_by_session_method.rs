use session::Session;

#[derive(Session, Default)]
struct Draft {
    save: bool,
    owner: String,
}

fn main() {}
