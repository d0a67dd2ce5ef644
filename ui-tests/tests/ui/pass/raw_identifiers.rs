use typed_sessions::Session;

#[derive(Session, Default)]
struct Item {
    r#type: String,
    r#match: bool,
}

fn handler(item: Session<Item>) -> bool {
    item.set_type("book".into());
    item.set_match(true);
    item.r#type().len() == 4 && item.r#match()
}

fn main() {
    let _ = handler;
}
