use serde::{Deserialize, Serialize};
use typed_sessions::Session;

/// Not `Clone`: the field loses only its getter; set, update and with still work.
#[derive(Default, Serialize, Deserialize)]
struct Token(String);

#[derive(Session, Default)]
struct Auth {
    token: Token,
}

fn handler(auth: Session<Auth>) -> usize {
    auth.set_token(Token("t".into()));
    auth.update_token(|token| token.0.push('!'));
    auth.view_token(|token| token.0.len())
}

fn main() {
    let _ = handler;
}
