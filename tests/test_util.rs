//! `typed_sessions::test::TestSession`: handlers called directly, with no router, server or store.

use typed_sessions::test::TestSession;
use typed_sessions::{SaveMode, Session};

#[derive(Session, Default, Debug, Clone, PartialEq)]
#[session(namespace = "acct")]
struct Account {
    user: Option<String>,
    #[session(rename = "basket")]
    cart: Vec<u32>,
    visits: u64,
}

async fn visit(account: Session<Account>) -> u64 {
    account.update_visits(|visits| {
        *visits += 1;
        *visits
    })
}

async fn login(account: Session<Account>, user: &str) {
    account.cycle_id();
    account.set_user(Some(user.to_owned()));
}

async fn logout(account: Session<Account>) {
    account.delete();
}

async fn start_over(account: Session<Account>) {
    account.invalidate();
    account.set_cart(vec![1]);
}

async fn read(account: Session<Account>) -> Option<String> {
    account.user()
}

fn ada() -> Account {
    Account {
        user: Some("ada".into()),
        cart: vec![7, 8],
        visits: 41,
    }
}

#[tokio::test]
async fn a_handler_sees_the_given_fields_and_its_changes_are_reported() {
    let test = TestSession::existing(ada()).unwrap();
    assert_eq!(visit(test.session()).await, 42);
    assert_eq!(test.changed_fields(), ["visits"]);
    assert!(test.will_save());
    assert!(!test.deleted() && !test.invalidated() && !test.id_cycled());
    // Every extractor of the test is the same session, as within one request.
    assert_eq!(test.session().visits(), 42);
    assert_eq!(test.session().cart(), [7, 8]);
}

#[tokio::test]
async fn a_read_changes_nothing_and_saves_nothing() {
    let test = TestSession::existing(ada()).unwrap();
    assert_eq!(read(test.session()).await.as_deref(), Some("ada"));
    assert!(test.changed_fields().is_empty());
    assert!(!test.will_save());

    let new = TestSession::<Account>::new();
    assert_eq!(
        read(new.session()).await,
        None,
        "a new visitor has the defaults"
    );
    assert!(!new.will_save(), "reading never creates a session");
}

#[tokio::test]
async fn renamed_fields_report_their_storage_name() {
    let test = TestSession::existing(ada()).unwrap();
    test.session().update_cart(|cart| cart.push(9));
    test.session().set_user(None);
    assert_eq!(test.changed_fields(), ["user", "basket"]);
}

#[tokio::test]
async fn login_logout_and_invalidate_are_reported() {
    let test = TestSession::existing(ada()).unwrap();
    login(test.session(), "bob").await;
    assert!(test.id_cycled() && test.will_save());

    let test = TestSession::existing(ada()).unwrap();
    logout(test.session()).await;
    assert!(test.deleted() && !test.will_save());
    assert_eq!(
        test.session().user(),
        None,
        "fields read as defaults after delete"
    );

    let test = TestSession::existing(ada()).unwrap();
    start_over(test.session()).await;
    assert!(test.invalidated() && !test.deleted());
    assert_eq!(test.changed_fields(), ["basket"]);
    assert_eq!(test.session().visits(), 0, "a fresh session");
    assert!(test.will_save());

    let test = TestSession::<Account>::new();
    login(test.session(), "bob").await;
    assert!(!test.id_cycled(), "a new visitor has no id to cycle");
}

#[tokio::test]
async fn save_modes_decide_what_will_be_saved() {
    let explicit = TestSession::existing(ada())
        .unwrap()
        .with_save_mode(SaveMode::Explicit);
    visit(explicit.session()).await;
    assert_eq!(explicit.changed_fields(), ["visits"]);
    assert!(!explicit.will_save(), "Explicit saves only after save()");
    explicit.session().save();
    assert!(explicit.save_requested() && explicit.will_save());

    let auto = TestSession::existing(ada())
        .unwrap()
        .with_save_mode(SaveMode::Auto);
    read(auto.session()).await;
    assert!(
        auto.will_save(),
        "Auto saves every existing session it extracts"
    );
    let auto_new = TestSession::<Account>::new().with_save_mode(SaveMode::Auto);
    read(auto_new.session()).await;
    assert!(!auto_new.will_save(), "but never creates one by reading");
}
