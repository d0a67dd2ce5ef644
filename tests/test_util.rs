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

#[derive(Session, Default, Debug, Clone, PartialEq)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<String>,
}

/// A form handler as an app writes it: two session structs, a flash message for the next
/// page, and a CSRF token for the form it renders.
async fn checkout(
    account: Session<Account>,
    cart: Session<Cart>,
    flash: typed_sessions::Flash<String>,
) -> Result<usize, typed_sessions::Error> {
    let items = cart.view_items(Vec::len);
    cart.set_items(Vec::new());
    account.update_visits(|visits| *visits += 1);
    flash.set(&format!(
        "{} ordered {items} items",
        account.user().unwrap_or_default()
    ))?;
    Ok(items)
}

async fn form(token: typed_sessions::CsrfToken) -> String {
    format!(r#"<input name="csrf_token" value="{}">"#, token.as_str())
}

#[tokio::test]
async fn one_test_session_gives_several_structs_a_flash_and_a_csrf_token() {
    let test = TestSession::existing(ada())
        .unwrap()
        .with_existing(Cart {
            items: vec!["tea".into(), "milk".into()],
        })
        .unwrap();
    assert_eq!(test.session_of::<Cart>().items(), ["tea", "milk"]);
    let items = checkout(test.session(), test.session_of(), test.flash())
        .await
        .unwrap();
    assert_eq!(items, 2);
    assert_eq!(test.session_of::<Cart>().items(), Vec::<String>::new());
    assert_eq!(
        test.session().visits(),
        42,
        "the other struct's fields are kept"
    );
    assert!(test.will_save());
    let message = test.flash::<String>().take().await.unwrap();
    assert_eq!(message.as_deref(), Some("ada ordered 2 items"));
    assert_eq!(
        test.flash::<String>().take().await.unwrap(),
        None,
        "taken once"
    );

    let page = form(test.csrf_token()).await;
    let token = page.split('"').nth(3).unwrap();
    assert!(
        test.accepts_csrf_token(token),
        "the layer would accept it from this session"
    );
    assert!(!test.accepts_csrf_token("forged"));
    let other = TestSession::<Account>::existing(ada()).unwrap();
    let theirs = other.csrf_token();
    assert!(
        !test.accepts_csrf_token(theirs.as_str()),
        "another session's token"
    );
}

#[tokio::test]
async fn a_new_visitors_csrf_token_is_accepted_and_stores_nothing_by_itself() {
    let test = TestSession::<Account>::new();
    let token = test.csrf_token();
    assert!(test.accepts_csrf_token(token.as_str()));
    assert!(!test.will_save(), "a token alone makes no session");
}
