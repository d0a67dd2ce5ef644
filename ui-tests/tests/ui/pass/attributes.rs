use typed_sessions::Session;

fn guest() -> String {
    "guest".to_owned()
}

mod defaults {
    pub fn theme() -> String {
        "light".to_owned()
    }
}

/// Doc comments and other attributes on the struct and its fields pass through.
#[derive(Session, Debug)]
#[session(namespace = "prefs-v2")]
#[allow(dead_code)]
pub struct Prefs {
    /// Who is signed in.
    #[session(default = guest)]
    pub user: String,
    #[session(rename = "theme_v1", default = defaults::theme)]
    #[allow(unused)]
    pub theme: String,
    #[session(default)]
    #[session(rename = "n")]
    pub count: u32,
    #[session(default = "guest")]
    pub nickname: String,
}

fn handler(prefs: Session<Prefs>) -> String {
    format!("{} {} {} {}", prefs.user(), prefs.theme(), prefs.count(), prefs.nickname())
}

fn main() {
    let _ = handler;
}
