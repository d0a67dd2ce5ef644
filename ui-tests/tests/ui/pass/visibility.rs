pub mod auth {
    use typed_sessions::Session;

    #[derive(Session, Default)]
    pub struct Auth {
        pub user: Option<String>,
        pub(crate) attempts: u32,
        secret: String,
    }

    pub fn rotate(auth: &Session<Auth>) {
        // Private fields keep accessors inside their module.
        auth.set_secret(String::new());
        let _ = auth.secret();
    }
}

fn handler(auth: typed_sessions::Session<auth::Auth>) -> u32 {
    auth::rotate(&auth);
    let _ = auth.user();
    auth.attempts()
}

fn main() {
    let _ = handler;
}
