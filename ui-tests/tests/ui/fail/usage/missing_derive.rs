// A struct used as a session without `#[derive(Session)]`.
use typed_sessions::Session;

#[derive(Default)]
struct Visit {
    count: u64,
}

async fn index(_visit: Session<Visit>) {}

fn main() {
    let _ = index;
}
