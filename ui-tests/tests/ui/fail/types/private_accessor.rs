mod auth {
    use typed_sessions::Session;

    #[derive(Session, Default)]
    pub struct Auth {
        pub user: Option<String>,
        secret: String,
    }
}

fn handler(auth: typed_sessions::Session<auth::Auth>) {
    let _user = auth.user();
    let _secret = auth.secret();
}

fn main() {}
