use typed_sessions::Session;

#[derive(Session, Default)]
#[session(namespace = "a b")]
struct Visit {
    #[session(renam = "x")]
    count: u64,
    #[session(default = 1)]
    user: Option<String>,
    invalidate: bool,
}

fn main() {}
