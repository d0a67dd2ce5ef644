mod auth {
    use session::Session;

    #[derive(Session, Default)]
    pub struct Auth {
        pub user: Option<String>,
        secret: String,
    }
}

fn handler(auth: session::Session<auth::Auth>) {
    let _user = auth.user();
    let _secret = auth.secret();
}

fn main() {}
