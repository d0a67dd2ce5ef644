use serde::{Deserialize, Serialize};
use typed_sessions::Session;

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
