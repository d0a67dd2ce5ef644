use serde::{Deserialize, Serialize};
use session::Session;

#[derive(Default, Serialize, Deserialize)]
struct Token(String);

#[derive(Session, Default)]
struct Auth {
    token: Token,
}

fn handler(auth: Session<Auth>) {
    let _token = auth.token();
}

fn main() {}
