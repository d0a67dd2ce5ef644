use typed_sessions::Session;

fn zero() -> u32 {
    0
}

#[derive(Session, Default)]
struct Visit {
    #[session(default = zero)]
    count: u64,
}

fn main() {}
