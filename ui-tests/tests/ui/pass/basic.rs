use typed_sessions::Session;

#[derive(Session, Default)]
struct Visit {
    count: u64,
    user: Option<String>,
}

fn handler(visit: Session<Visit>) -> u64 {
    let n = visit.count() + 1;
    visit.set_count(n);
    visit.update_user(|user| *user = Some("ada".into()));
    visit.view_user(|user| user.as_deref().map_or(0, str::len)) as u64 + n
}

fn main() {
    let _ = handler;
}
