use typed_sessions::Session;

#[derive(Session, Default)]
struct Buffer<const N: usize> {
    len: u64,
}

fn main() {}
