//! The typed layer's rebase, replay and no-op rules.
use super::*;
use crate::Session;
use std::time::SystemTime;

#[derive(Session, Default)]
struct Tally {
    count: u64,
    label: String,
}

/// A record holding `count` and `label`, as another request saved it.
fn stored(count: u64, label: &str) -> Record {
    let typed = Typed::<Tally>::new(&Record::new(SystemTime::now()));
    let fields = typed.fields();
    fields.write(0, |tally| tally.count = count);
    fields.write(1, |tally| tally.label = label.to_owned());
    let mut changes = FieldChanges::default();
    typed.changes(&mut changes).unwrap();
    Record::new(SystemTime::now()).with(changes.iter())
}

fn rebased(typed: &Typed<Tally>, current: &Record) -> Tally {
    let mut changes = FieldChanges::default();
    typed.rebase(current, typed.dirty(), &mut changes).unwrap();
    Tally::decode(&current.with(changes.iter()))
}

#[test]
fn updates_run_again_on_the_stored_value_and_replacements_win() {
    let typed = Typed::<Tally>::new(&stored(1, "a"));
    let fields = typed.fields();
    assert_eq!(
        fields.update(0, |tally| {
            tally.count += 1;
            tally.count
        }),
        2,
        "the handler sees its own result"
    );
    fields.write(1, |tally| tally.label = "mine".into());
    let on_theirs = rebased(&typed, &stored(10, "theirs"));
    assert_eq!(on_theirs.count, 11, "the update ran again on 10");
    assert_eq!(on_theirs.label, "mine", "set_ is last writer wins");
}

#[test]
fn a_replacement_after_updates_drops_them_and_updates_after_it_are_not_replayed() {
    let typed = Typed::<Tally>::new(&stored(1, "a"));
    let fields = typed.fields();
    fields.update(0, |tally| tally.count += 1);
    fields.write(0, |tally| tally.count = 100);
    fields.update(0, |tally| tally.count += 1);
    assert_eq!(rebased(&typed, &stored(10, "theirs")).count, 101);
}

#[test]
fn after_a_rebased_save_later_updates_build_on_the_stored_value() {
    let typed = Typed::<Tally>::new(&stored(1, "a"));
    let fields = typed.fields();
    fields.update(0, |tally| tally.count += 1);
    let theirs = stored(10, "theirs");
    let mut changes = FieldChanges::default();
    typed.rebase(&theirs, 0b01, &mut changes).unwrap();
    let written = theirs.with(changes.iter());
    typed.saved(0b01, Some(&written));
    assert_eq!(fields.read(|tally| tally.count), 11, "the stored value");
    fields.update(0, |tally| tally.count += 1);
    assert_eq!(rebased(&typed, &written).count, 12, "one update, not two");
    assert_eq!(rebased(&typed, &stored(20, "x")).count, 21);
}

#[test]
fn an_update_that_leaves_the_field_as_it_was_changes_nothing() {
    let typed = Typed::<Tally>::new(&stored(1, "a"));
    let fields = typed.fields();
    assert_eq!(fields.update(1, |tally| tally.label.pop()), Some('a'));
    assert_eq!(typed.dirty(), 0b10, "popping a character is a change");
    let typed = Typed::<Tally>::new(&stored(1, ""));
    let fields = typed.fields();
    assert_eq!(fields.update(1, |tally| tally.label.pop()), None);
    fields.update(0, |tally| tally.count = 1);
    assert_eq!(typed.dirty(), 0, "nothing to pop, and 1 was 1");
    fields.update(0, |tally| tally.count += 1);
    fields.update(0, |tally| tally.count -= 1);
    assert_eq!(typed.dirty(), 0b01, "once changed, a field stays changed");
}

#[test]
fn a_retyped_field_is_none() {
    let mut record = Record::new(SystemTime::now());
    record.apply([("V.n", &postcard::to_allocvec(&300u64).unwrap()[..])]);
    assert_eq!(decode_field::<u64>(&record, "V.n"), Some(300));
    assert_eq!(decode_field::<String>(&record, "V.n"), None);
    assert_eq!(decode_field::<bool>(&record, "V.n"), None);
    assert_eq!(decode_field::<u64>(&record, "V.missing"), None);
}
