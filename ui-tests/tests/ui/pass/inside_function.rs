fn main() {
    #[derive(session::Session, Default)]
    struct Local {
        count: u64,
    }

    fn handler(local: session::Session<Local>) -> u64 {
        local.count()
    }
    let _ = handler;
}
