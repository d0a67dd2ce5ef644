use serde::{Deserialize, Serialize};
use typed_sessions::Session;

#[derive(Session, Default)]
struct Cart<T> {
    items: Vec<T>,
}

#[derive(Session)]
struct Tagged<T: Clone> {
    #[session(default)]
    tags: Vec<T>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct Sku(String);

fn handler(cart: Session<Cart<Sku>>, tagged: Session<Tagged<u8>>) -> usize {
    cart.update_items(|items| items.push(Sku("tea".into())));
    cart.view_items(Vec::len) + tagged.tags().len()
}

fn main() {
    let _ = handler;
}
