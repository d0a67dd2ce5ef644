use typed_sessions::Session;

#[derive(Session)]
struct Visit {
    #[session(default)]
    count: u64,
    user: Option<String>,
}

fn main() {}
