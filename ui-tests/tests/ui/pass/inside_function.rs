fn main() {
    #[derive(typed_sessions::Session, Default)]
    struct Local {
        count: u64,
    }

    fn handler(local: typed_sessions::Session<Local>) -> u64 {
        local.count()
    }
    let _ = handler;
}
