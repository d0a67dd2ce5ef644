use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    #[session(defualt)]
    count: u64,
}

fn main() {}
