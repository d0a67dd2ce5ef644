use typed_sessions::Session;

#[derive(Session, Default)]
struct Draft {
    save: bool,
    owner: String,
}

fn main() {}
